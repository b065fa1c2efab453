using System.Collections.Concurrent;
using System.Diagnostics;
using Xunit;
using Xunit.Abstractions;

namespace SamCluster.Tests.Cluster;

/// <summary>
/// Network partitions, not dead processes: the coordinator and two nodes each run in their own network namespace
/// (<see cref="NamespaceNetwork"/>), and a node's link is cut while it trains. A cut shorter than the failure detector's
/// pause changes nothing; a longer one gets the node downed, its trial re-run elsewhere from its checkpoint, and the
/// node back in the cluster by itself once the link returns — and trials.csv holds every trial exactly once. Root only
/// (namespaces); skipped through the runner otherwise. Timings go to the test output and artifacts/partition-timings.txt.
/// </summary>
[Collection(ProcessLanes.PartitionsAndLoopback)]
public sealed class PartitionTests(ITestOutputHelper output) : IDisposable
{
    readonly string _work = Directory.CreateTempSubdirectory("samcluster-partition-").FullName;
    readonly ConcurrentQueue<string> _coordinatorLines = new();
    readonly Stopwatch _clock = Stopwatch.StartNew();

    sealed record Cluster(NamespaceNetwork Network, Process Coordinator, Process NodeA, Process NodeB, string OutDir) : IDisposable
    {
        public void Dispose()
        {
            foreach (var p in new[] { NodeA, NodeB, Coordinator })
            {
                ProcessTests.KillHard(p);
                p.WaitForExit(10_000);
                p.Dispose();
            }
            Network.Dispose();
        }
    }

    Cluster Start(int epochs, bool stay)
    {
        var unavailable = NamespaceNetwork.Unavailable();
        Skip.If(unavailable is not null, unavailable);
        // A trial for each node: node-a's is the one cut off, node-b's keeps node-b busy meanwhile.
        var grid = ProcessTests.WriteTinyGrid(_work, optimizers: "[sgd, sam]", repeats: 1, epochs: epochs);
        var outDir = Path.Combine(_work, "run");
        var network = new NamespaceNetwork("c", "a", "b");
        try
        {
            const string port = "2552";
            string[] coordinatorArgs = ["coordinator", grid, "--out", outDir, "--host", network.Address("c"), "--port", port, .. stay ? new[] { "--stay" } : []];
            var coordinator = ProcessTests.StartWrapped(output, _coordinatorLines, network.Exec("c"), coordinatorArgs);
            // The nodes start once it listens, as `local` starts its own (see ProcessTests.StartCoordinator).
            Assert.True(ProcessTests.WaitFor(() => coordinator.HasExited || _coordinatorLines.Any(l => l.Contains(ProcessTests.CoordinatorUp)),
                TimeSpan.FromMinutes(2)) && !coordinator.HasExited, "the coordinator did not come up within 2 minutes");
            var seed = $"{network.Address("c")}:{port}";
            var nodeA = ProcessTests.StartWrapped(output, null, network.Exec("a"),
                "node", "--coordinator", seed, "--host", network.Address("a"), "--devices", "cpu", "--threads", "1", "--name", "node-a");
            var nodeB = ProcessTests.StartWrapped(output, null, network.Exec("b"),
                "node", "--coordinator", seed, "--host", network.Address("b"), "--devices", "cpu", "--threads", "1", "--name", "node-b");
            return new Cluster(network, coordinator, nodeA, nodeB, outDir);
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    /// <summary>The trial node-a trains now, once its second epoch is in: the checkpoint of its first is then surely
    /// journaled (it is recorded before the next epoch starts), so a re-run has one to resume from.</summary>
    string TrialTrainingOnNodeA(string outDir)
    {
        string? trial = null;
        Assert.True(ProcessTests.WaitFor(() =>
        {
            trial = _coordinatorLines.Select(l => System.Text.RegularExpressions.Regex.Match(l, @"Started (\S+) \(attempt 1\) on w0@node-a/"))
                .Where(m => m.Success).Select(m => m.Groups[1].Value).LastOrDefault();
            return trial is not null && File.Exists(TrialLog(outDir, trial)) && File.ReadAllText(TrialLog(outDir, trial)).Contains("epoch 2/");
        }, TimeSpan.FromMinutes(4)), "node-a did not train a trial's second epoch within 4 minutes");
        return trial!;
    }

    static string TrialLog(string outDir, string trial) => Path.Combine(outDir, "logs", trial + ".log");

    static List<string[]> TrialRows(string outDir) =>
        File.ReadAllLines(Path.Combine(outDir, "trials.csv")).Skip(1).Where(l => l.Length > 0).Select(l => l.Split(',')).ToList();

    static int Column(string outDir, string name) => Array.IndexOf(File.ReadAllLines(Path.Combine(outDir, "trials.csv"))[0].Split(','), name);

    static void AssertEveryTrialOnceCompleted(string outDir)
    {
        var rows = TrialRows(outDir);
        Assert.Equal(2, rows.Count);
        Assert.Equal(2, rows.Select(r => string.Join('/', r.Take(4))).Distinct().Count());
        Assert.All(rows, r => Assert.Equal("completed", r[Column(outDir, "status")]));
    }

    /// <summary>When the coordinator first printed a line matching <paramref name="pattern"/> (polled every 100 ms).</summary>
    TimeSpan? WaitForLine(string pattern, TimeSpan timeout)
    {
        var regex = new System.Text.RegularExpressions.Regex(pattern);
        return ProcessTests.WaitFor(() => _coordinatorLines.Any(regex.IsMatch), timeout) ? _clock.Elapsed : null;
    }

    void Record(string line)
    {
        output.WriteLine(line);
        var artifacts = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "artifacts")).FullName;
        File.AppendAllText(Path.Combine(artifacts, "partition-timings.txt"), $"{DateTime.UtcNow:u} {line}\n");
    }

    [SkippableFact]
    public void A_cut_shorter_than_the_failure_detector_changes_nothing()
    {
        using var cluster = Start(epochs: 3, stay: false);
        var started = _clock.Elapsed;
        var trial = TrialTrainingOnNodeA(cluster.OutDir);
        cluster.Network.Cut("a");
        Thread.Sleep(TimeSpan.FromSeconds(4));
        cluster.Network.Restore("a");

        Assert.True(cluster.Coordinator.WaitForExit(TimeSpan.FromMinutes(6)), "the grid did not finish within 6 minutes");
        cluster.Coordinator.WaitForExit();
        Assert.Equal(0, cluster.Coordinator.ExitCode);
        AssertEveryTrialOnceCompleted(cluster.OutDir);
        // Nothing was re-run: no node was lost, every trial took one attempt (the cut trial included).
        Assert.DoesNotContain(_coordinatorLines, l => l.Contains("Worker w0@node-a/cpu lost"));
        Assert.All(TrialRows(cluster.OutDir), r => Assert.Equal("1", r[Column(cluster.OutDir, "attempts")]));
        Record($"short cut (4 s) of node-a during {trial}: grid finished, 2 trials once, 1 attempt each; wall {(_clock.Elapsed - started).TotalSeconds:F0} s");
    }

    [SkippableFact]
    public void A_cut_longer_than_the_downing_time_reruns_the_trial_elsewhere_and_the_node_rejoins_when_the_link_returns()
    {
        using var cluster = Start(epochs: 3, stay: true);
        var started = _clock.Elapsed;
        var trial = TrialTrainingOnNodeA(cluster.OutDir);
        var cutAt = _clock.Elapsed;
        cluster.Network.Cut("a");

        // Downed, and its trial handed to node-b as a new attempt (resuming from the checkpoint of its epochs so far).
        var rerunAt = WaitForLine($@"Started {System.Text.RegularExpressions.Regex.Escape(trial)} \(attempt [2-9]\) on w0@node-b/", TimeSpan.FromMinutes(3));
        Assert.True(rerunAt is not null, $"{trial} was not re-run on node-b within 3 minutes of the cut");
        Assert.Contains(_coordinatorLines, l => l.Contains("Worker w0@node-a/cpu lost"));
        // Keep the link down a while longer, so the cut-off node has downed itself too, then bring it back.
        Thread.Sleep(TimeSpan.FromSeconds(10));
        var joinedBefore = _coordinatorLines.Count(l => l.Contains("Worker w0@node-a/cpu joined"));
        var restoredAt = _clock.Elapsed;
        cluster.Network.Restore("a");
        Assert.True(ProcessTests.WaitFor(() => _coordinatorLines.Count(l => l.Contains("Worker w0@node-a/cpu joined")) > joinedBefore, TimeSpan.FromMinutes(3)),
            "node-a did not rejoin within 3 minutes of the link coming back");
        var rejoinedAt = _clock.Elapsed;

        Assert.True(WaitForLine("Grid finished: 2 completed, 0 failed", TimeSpan.FromMinutes(6)) is not null, "the grid did not finish within 6 minutes");
        AssertEveryTrialOnceCompleted(cluster.OutDir);
        var row = TrialRows(cluster.OutDir).Single(r => string.Join('/', r.Take(4)) == trial);
        Assert.True(int.Parse(row[Column(cluster.OutDir, "attempts")]) >= 2, $"{trial} should have taken a second attempt");
        var log = File.ReadAllText(TrialLog(cluster.OutDir, trial));
        Assert.True(log.Contains("resumed from epoch"), $"the re-run did not resume from a checkpoint; its log:\n{log}");
        // Anything the cut-off attempt sent late was refused, never counted: one completion, epochs.csv one row per epoch
        // of the winning attempt history.
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(log, "trial finished: completed"));
        Record($"long cut of node-a during {trial}: link-down → re-run on node-b {(rerunAt!.Value - cutAt).TotalSeconds:F1} s; " +
               $"link-up → node-a rejoined {(rejoinedAt - restoredAt).TotalSeconds:F1} s; 2 trials once; wall {(_clock.Elapsed - started).TotalSeconds:F0} s");
    }

    public void Dispose()
    {
        ProcessTests.KillLeftovers(output);
        Directory.Delete(_work, recursive: true);
    }
}
