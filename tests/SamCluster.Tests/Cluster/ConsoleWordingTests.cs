using System.Text.Json;
using System.Text.RegularExpressions;
using SamCluster.Coordinator.Lifecycle;
using SamCluster.Coordinator.Logging;
using SamCluster.Coordinator.Observers;
using SamCluster.Messages;
using SamCluster.RunStore;
using Xunit;

namespace SamCluster.Tests.Cluster;

/// <summary>The run's lines read as written English (issue 27, point 6): counts in their noun's number, "queued again"
/// only for trials that ran before, "starting from epoch 0" said once.</summary>
public sealed class ConsoleWordingTests : IDisposable
{
    readonly RunFolder _folder = ClusterFixtures.TempRunFolder();

    public void Dispose()
    {
        _folder.Dispose();
        Directory.Delete(_folder.Root, recursive: true);
    }

    /// <summary>run.clef's messages rendered: each template with its properties filled in.</summary>
    List<string> Messages()
    {
        var lines = new List<string>();
        foreach (var line in File.ReadLines(_folder.EventLog))
        {
            using var json = JsonDocument.Parse(line);
            var e = json.RootElement;
            var template = e.TryGetProperty("@mt", out var mt) ? mt.GetString()! : "";
            lines.Add(Regex.Replace(template, @"\{(\w+)(:[^}]*)?\}", m =>
                e.TryGetProperty(m.Groups[1].Value, out var p) ? (p.ValueKind == JsonValueKind.String ? p.GetString()! : p.GetRawText()) : m.Value));
        }
        return lines;
    }

    static AttemptRecord Attempt(int n) => new(n, "w0@n1/cpu#1", "n1", "cpu", AttemptPhase.Released, 1, true, null, [], null, "worker lost");

    [Fact]
    public void Recovery_says_queued_again_only_for_trials_that_ran_before()
    {
        var specs = new[] { ClusterFixtures.Trial("sgd", 1), ClusterFixtures.Trial("sam", 1), ClusterFixtures.Trial("sgd", 2), ClusterFixtures.Trial("sam", 2) };
        RunView view = new(
        [
            BoardEntry.New(specs[0]) with { Completed = true, Recovered = true },
            BoardEntry.New(specs[1]) with { State = TrialState.New(specs[1].Key.Id) with { Attempts = [Attempt(1)], Status = TrialStatus.Queued } },
            BoardEntry.New(specs[2]),
            BoardEntry.New(specs[3]),
        ], 1, null);
        using (var log = new RunLog(_folder, console: false))
        {
            var writer = new TrialLogWriter(log);
            writer.OnStart(view);
            writer.OnWorkerJoined("w0@n1/cpu", 1);
            writer.OnWorkerLost("w0@n1/cpu", "stopped", 2);
        }
        var messages = Messages();
        Assert.Contains("Recovered from the journal: 1 of 4 trials already finished (1 completed, 0 failed); 1 queued again, 2 not started yet", messages);
        Assert.Contains("Worker w0@n1/cpu joined (1 worker)", messages);
        Assert.Contains("Worker w0@n1/cpu lost (stopped); 2 workers left", messages);
    }

    [Fact]
    public void A_trials_log_says_its_epochs_in_their_number_and_where_it_starts_once()
    {
        var spec = ClusterFixtures.Trial("sgd", 1, epochs: 1);
        var entry = BoardEntry.New(spec);
        using (var log = new RunLog(_folder, console: false))
        {
            var writer = new TrialLogWriter(log);
            writer.OnTrialEvent(entry, new AttemptStarted(spec.Key.Id, 1, "w0@n1/cpu#1", "n1", "cpu", DateTimeOffset.UnixEpoch), [entry]);
            writer.OnTrialEvent(entry, new AttemptResumed(spec.Key.Id, 1, null, "no checkpoint to resume from; starting from epoch 0"), [entry]);
            writer.OnTrialEvent(entry, new AttemptResumed(spec.Key.Id, 2, null, "checkpoint a1e1 is unreadable"), [entry]);
        }
        var text = File.ReadAllText(_folder.TrialLog(spec.Key.Id));
        Assert.Contains($"(seed {spec.Seed}, 1 epoch)", text);
        Assert.Contains(" no checkpoint to resume from; starting from epoch 0\n", text.ReplaceLineEndings("\n"));
        Assert.DoesNotContain("starting from epoch 0; no checkpoint", text);
        Assert.Contains(" starting from epoch 0; checkpoint a1e1 is unreadable", text);
    }

    [Fact]
    public void A_count_takes_its_nouns_number() =>
        Assert.Equal(["0 workers", "1 worker", "2 workers", "1 torch thread"],
            new[] { ConsoleText.Count(0, "worker"), ConsoleText.Count(1, "worker"), ConsoleText.Count(2, "worker"), ConsoleText.Count(1, "torch thread") });
}
