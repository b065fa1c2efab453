using System.Collections.Concurrent;
using System.Diagnostics;
using SamCluster.Tests.Cluster;
using Xunit;
using Xunit.Abstractions;

namespace SamCluster.Tests.BadInput;

/// <summary>The hostile catalogue's signals, as processes (a signal cannot be sent to an in-process command): SIGTERM
/// and Ctrl-C (SIGINT) end a command within 5 s whatever stage it is in — waiting on a journal server that never
/// answers (a connect timeout of its own of 60 s), or up and waiting for workers — with at most one `samcluster:` line,
/// no trace, and the run folder as it was.</summary>
[Collection(ProcessTests.Name)]
public sealed class SignalTests(ITestOutputHelper log) : BadInputTest(log)
{
    static readonly TimeSpan Limit = TimeSpan.FromSeconds(5);

    [SkippableTheory]
    [InlineData("TERM")]
    [InlineData("INT")]
    public void A_signal_ends_a_coordinator_waiting_on_a_silent_journal_server_within_5_s(string signal)
    {
        // A shell without job control starts background commands (`cmd &`) with SIGINT ignored, and the children
        // inherit that: then Ctrl-C is meant not to reach them, and .NET installs no handler for it.
        Skip.If(signal == "INT" && SignalIgnoredHere(2), "SIGINT is ignored in this test host (started in the background by a shell without job control), so its children ignore it too");
        var grid = ExistingRun();
        var before = FolderSnapshot.Take(OutDir);
        using var silent = new SilentServer();
        // The connection string's own timeout is a minute: only the signal can end the wait in time.
        var (process, lines) = Start("coordinator", grid, "--out", OutDir, "--port", ProcessTests.FreePort().ToString(),
            "--journal", $"Host=127.0.0.1;Port={silent.Port};Database=runs;Username=samcluster;Timeout=60");
        Assert.True(ProcessTests.WaitFor(() => silent.Accepted > 0 || process.HasExited, TimeSpan.FromSeconds(30)), "the coordinator never connected");
        Assert.False(process.HasExited, $"the coordinator exited before the signal\n{string.Join('\n', lines)}");
        Thread.Sleep(500); // well inside the connect, past its first packet
        var elapsed = SignalAndWait(process, signal);
        AssertEndedCleanly(process, lines, elapsed);
        FolderSnapshot.AssertUnchanged(before, OutDir);
    }

    [Fact]
    public void SIGTERM_ends_a_coordinator_waiting_for_workers_within_5_s()
    {
        var grid = ProcessTests.WriteTinyGrid(Work, optimizers: "[sgd]", repeats: 1);
        var (process, lines) = Start("coordinator", grid, "--out", Path.Combine(Work, "fresh"), "--port", ProcessTests.FreePort().ToString());
        Assert.True(ProcessTests.WaitFor(() => process.HasExited || lines.Any(l => l.Contains(ProcessTests.CoordinatorUp)), TimeSpan.FromMinutes(1)),
            "the coordinator did not come up");
        Assert.False(process.HasExited, $"the coordinator exited before the signal\n{string.Join('\n', lines)}");
        var elapsed = SignalAndWait(process, "TERM");
        Assert.True(elapsed < Limit, $"SIGTERM took {elapsed.TotalSeconds:F1} s\n{string.Join('\n', lines)}");
        Assert.DoesNotContain(lines, l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal));
    }

    /// <summary>Whether this process ignores <paramref name="signal"/> (SigIgn in /proc/self/status), which every
    /// process it starts inherits.</summary>
    static bool SignalIgnoredHere(int signal)
    {
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        return line is not null && (Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16) & (1UL << (signal - 1))) != 0;
    }

    (Process Process, ConcurrentQueue<string> Lines) Start(params string[] args)
    {
        var lines = new ConcurrentQueue<string>();
        return (ProcessTests.Start(Log, lines, args), lines);
    }

    static TimeSpan SignalAndWait(Process process, string signal)
    {
        var clock = Stopwatch.StartNew();
        using (var kill = Process.Start("kill", [$"-{signal}", process.Id.ToString()])) kill.WaitForExit();
        if (!process.WaitForExit(TimeSpan.FromSeconds(30))) process.Kill(entireProcessTree: true);
        process.WaitForExit();
        return clock.Elapsed;
    }

    void AssertEndedCleanly(Process process, ConcurrentQueue<string> lines, TimeSpan elapsed)
    {
        var printed = string.Join('\n', lines);
        Log.WriteLine($"exit {process.ExitCode} after {elapsed.TotalSeconds:F1} s");
        Assert.True(elapsed < Limit, $"the signal took {elapsed.TotalSeconds:F1} s to end the command\n{printed}");
        Assert.Equal(1, process.ExitCode);
        var said = lines.Where(l => l.StartsWith("samcluster: ", StringComparison.Ordinal)).ToList();
        Assert.True(said.Count == 1, $"expected one samcluster: line\n{printed}");
        Assert.DoesNotContain(lines, l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal) || l.Contains("Exception"));
    }
}
