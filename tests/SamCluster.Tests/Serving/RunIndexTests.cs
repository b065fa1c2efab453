using SamCluster.Coordinator.Serving;
using SamCluster.Messages;
using Xunit;

namespace SamCluster.Tests.Serving;

/// <summary>The runs index: which folders are runs, and each run's row (state, counts, verdicts) as its files tell it.</summary>
public sealed class RunIndexTests : IDisposable
{
    readonly RunFolders _runs = new();

    [Fact]
    public void Runs_are_found_at_any_depth_by_their_path_below_the_folder_given_and_not_inside_a_run_or_through_a_link()
    {
        _runs.Finished("quick");
        _runs.Finished("2026/lr-sweep");
        Directory.CreateDirectory(Path.Combine(_runs.Top, "empty/deeper"));
        // A link to a run would list it twice (and may point anywhere): not followed.
        Directory.CreateSymbolicLink(Path.Combine(_runs.Top, "link-to-quick"), Path.Combine(_runs.Top, "quick"));
        Assert.Equal(["2026/lr-sweep", "quick"], RunIndex.FindAll([_runs.Top]).Select(r => r.Name));
        // A run folder given itself is named by its folder.
        Assert.Equal(["quick"], RunIndex.FindAll([Path.Combine(_runs.Top, "quick")]).Select(r => r.Name));
    }

    [Fact]
    public void A_missing_folder_a_folder_without_a_run_and_two_runs_of_one_name_are_refused()
    {
        Assert.Contains("no such folder", Assert.Throws<UserInputException>(() => RunIndex.FindAll([Path.Combine(_runs.Top, "nope")])).Message);
        Directory.CreateDirectory(Path.Combine(_runs.Top, "empty"));
        Assert.Contains("holds no run", Assert.Throws<UserInputException>(() => RunIndex.FindAll([Path.Combine(_runs.Top, "empty")])).Message);
        var a = _runs.Finished("a/quick");
        var b = _runs.Finished("b/quick");
        Assert.Contains("two runs are named 'quick'", Assert.Throws<UserInputException>(() => RunIndex.FindAll([a, b])).Message);
    }

    [Fact]
    public void A_finished_runs_row_counts_its_trials_and_states_each_comparisons_verdict()
    {
        _runs.Finished("quick", repeats: 3, samLead: 2);
        var row = RunSummary.From(RunSnapshot.Read(RunIndex.FindAll([_runs.Top])[0]), DateTimeOffset.UtcNow);
        Assert.Equal(("quick", "finished", 6, 6, 0, 0), (row.Name, row.State, row.Trials, row.Done, row.Failed, row.Running));
        Assert.NotNull(row.Started);
        Assert.NotNull(row.WallSeconds);
        var verdict = Assert.Single(row.Verdicts);
        Assert.Equal("fashion-mnist/resnet18 SAM vs SGD", verdict.Comparison);
        Assert.StartsWith("+2.00 pp [", verdict.Verdict);
        Assert.EndsWith(": SAM better", verdict.Verdict);
    }

    [Fact]
    public void A_run_without_a_difference_says_there_is_no_evidence()
    {
        _runs.Finished("tie", repeats: 3, samLead: 0);
        var row = RunSummary.From(RunSnapshot.Read(RunIndex.FindAll([_runs.Top])[0]), DateTimeOffset.UtcNow);
        Assert.EndsWith(": no evidence that SAM beats SGD", Assert.Single(row.Verdicts).Verdict);
    }

    [Fact]
    public void A_running_runs_row_counts_the_trials_with_epochs_as_running_and_no_verdict_yet()
    {
        _runs.Running("live", repeats: 2);
        var row = RunSummary.From(RunSnapshot.Read(RunIndex.FindAll([_runs.Top])[0]), DateTimeOffset.UtcNow);
        Assert.Equal(("running", 4, 0, 2), (row.State, row.Trials, row.Done, row.Running));
        Assert.Empty(row.Verdicts);
    }

    [Fact]
    public void A_run_whose_epochs_table_is_a_link_is_listed_as_unreadable_not_followed()
    {
        var root = _runs.Finished("quick");
        File.Delete(Path.Combine(root, "epochs.csv"));
        File.CreateSymbolicLink(Path.Combine(root, "epochs.csv"), "/etc/passwd");
        var row = RunSummary.From(RunSnapshot.Read(RunIndex.FindAll([_runs.Top])[0]), DateTimeOffset.UtcNow);
        Assert.Equal("unreadable", row.State);
        Assert.Contains("symbolic link", row.Problem);
    }

    [Fact]
    public void The_table_csv_and_json_have_one_row_per_run_with_every_column()
    {
        _runs.Finished("quick");
        _runs.Finished("other/tie", samLead: 0);
        var now = DateTimeOffset.UtcNow;
        var rows = RunIndex.FindAll([_runs.Top]).Select(r => RunSummary.From(RunSnapshot.Read(r), now)).ToList();
        var csv = RunsTable.WriteCsv(rows).TrimEnd('\n').Split('\n');
        Assert.Equal("name,grid,state,trials,done,failed,running,started,wall,verdicts", csv[0]);
        Assert.Equal(3, csv.Length);
        Assert.StartsWith("other/tie,", csv[1]);
        var text = RunsTable.WriteText(rows).TrimEnd('\n').Split('\n');
        Assert.Equal(3, text.Length);
        Assert.Contains("SAM better", text[2]);
        var json = System.Text.Json.JsonDocument.Parse(RunsTable.WriteJson(rows)).RootElement;
        Assert.Equal(2, json.GetArrayLength());
        var quick = json[1];
        Assert.Equal("quick", quick.GetProperty("name").GetString());
        foreach (var key in new[] { "grid", "state", "trials", "done", "failed", "running", "started", "wall_seconds", "verdicts" })
            Assert.True(quick.TryGetProperty(key, out _), key);
        Assert.Equal("fashion-mnist/resnet18 SAM vs SGD", quick.GetProperty("verdicts")[0].GetProperty("comparison").GetString());
    }

    public void Dispose() => _runs.Dispose();
}
