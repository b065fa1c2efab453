using SamCluster.Tests.Cluster;
using Xunit;
using Xunit.Abstractions;

namespace SamCluster.Tests.BadInput;

/// <summary>An internal error (not the user's input, not a full disk) is one line and exit code 1, naming the exception
/// and where its whole trace went: the run folder's logs/run.clef for `local` and `coordinator`, else the per-user
/// $XDG_STATE_HOME/samcluster/errors.log (~/.local/state/... by default). The error provoked is a real one: a report
/// written into a run folder whose report.md is a folder.</summary>
[Collection(InProcessCli.Name)]
public sealed class InternalErrorTests(ITestOutputHelper log) : BadInputTest(log)
{
    /// <summary>A run folder with a trials.csv to report on, whose report.md cannot be replaced (it is a folder).</summary>
    string RunFolderWithBlockedReport()
    {
        var dir = Path.Combine(Work, "results");
        Directory.CreateDirectory(Path.Combine(dir, "report.md"));
        File.WriteAllText(Path.Combine(dir, "trials.csv"), """
            dataset,model,optimizer,repeat,train_acc,test_acc,seconds
            fashion-mnist,resnet18,sgd,1,90,85,10
            fashion-mnist,resnet18,sgd,2,91,86,11
            fashion-mnist,resnet18,sam,1,92,87,12
            fashion-mnist,resnet18,sam,2,93,88,13

            """);
        return dir;
    }

    /// <summary>End to end, in a process of its own (which also lets it change $HOME, which every process reads).</summary>
    [Fact]
    public void An_internal_error_is_one_line_with_its_trace_in_the_users_error_log()
    {
        var dir = RunFolderWithBlockedReport();
        var state = Path.Combine(Work, "state");
        var run = Cli.RunWithin(Cli.DefaultLimit, Work, new Dictionary<string, string?> { ["XDG_STATE_HOME"] = state },
            "report", dir, "--write");
        var errorLog = Path.Combine(state, "samcluster", "errors.log");
        Cli.AssertFailed(run, Log, "samcluster: internal error: IOException: ", "report.md", $"(trace in {errorLog})");

        var entry = File.ReadAllText(errorLog);
        Assert.Contains($"command: samcluster report {dir} --write", entry);
        Assert.Contains("System.IO.IOException", entry);
        Assert.Contains("   at SamCluster.", entry);

        // Appended, not overwritten; without XDG_STATE_HOME it is under the home folder.
        var home = Path.Combine(Work, "home");
        Cli.RunWithin(Cli.DefaultLimit, Work, new Dictionary<string, string?> { ["XDG_STATE_HOME"] = state }, "report", dir, "--write");
        Assert.Equal(2, File.ReadAllText(errorLog).Split("command: samcluster report").Length - 1);
        var fromHome = Cli.RunWithin(Cli.DefaultLimit, Work, new Dictionary<string, string?> { ["XDG_STATE_HOME"] = null, ["HOME"] = home },
            "report", dir, "--write");
        Cli.AssertFailed(fromHome, Log, $"(trace in {Path.Combine(home, ".local", "state", "samcluster", "errors.log")})");
    }

    [Fact]
    public void When_no_error_log_can_be_written_it_is_still_one_line_saying_so()
    {
        var dir = RunFolderWithBlockedReport();
        var notAFolder = WriteFile("state", "a file where the state folder should be");
        var run = InProcessCli.RunWithin(Cli.DefaultLimit, Work, new Dictionary<string, string?> { ["XDG_STATE_HOME"] = notAFolder },
            "report", dir, "--write");
        Cli.AssertFailed(run, Log, "samcluster: internal error: IOException: ", "report.md",
            $"(no trace kept: the error log {Path.Combine(notAFolder, "samcluster", "errors.log")} cannot be written: ");
    }

    /// <summary>End to end, in a process of its own: a whole `local` run, its node processes too.</summary>
    [Fact]
    public void An_internal_error_of_a_run_is_one_line_with_its_trace_in_the_run_log()
    {
        var grid = ProcessTests.WriteTinyGrid(Work, optimizers: "[sgd]", repeats: 1, epochs: 1, trainImages: 100, testImages: 20);
        var outDir = Path.Combine(Work, "run");
        string[] command = ["local", grid, "--out", outDir, "--nodes", "1"];
        var first = Cli.RunWithin(TimeSpan.FromMinutes(4), Work, command);   // beside the process lanes: a loaded machine
        Assert.True(first.ExitCode == 0, first.ToString());

        // The same command again reads the trial back and writes the report again: into report.md, now a folder.
        var report = Path.Combine(outDir, "report.md");
        File.Delete(report);
        Directory.CreateDirectory(report);
        var state = Path.Combine(Work, "state");
        var again = Cli.RunWithin(TimeSpan.FromMinutes(3), Work, new Dictionary<string, string?> { ["XDG_STATE_HOME"] = state }, command);
        var runLog = Path.Combine(outDir, "logs", "run.clef");
        Cli.AssertFailed(again, Log, "samcluster: internal error: IOException: ", "report.md", $"(trace in {runLog})");
        var events = File.ReadAllLines(runLog);
        Assert.Contains(events, e => e.Contains("\"@l\":\"Fatal\"") && e.Contains("System.IO.IOException") && e.Contains("   at SamCluster."));
        Assert.False(Directory.Exists(state), "the trace went to the user's error log, not the run's");
    }
}
