using System.Collections.Concurrent;
using System.Diagnostics;
using Xunit;
using Xunit.Abstractions;

namespace SamCluster.Tests.Cluster;

/// <summary>
/// Nodes are services (docs/DEPLOY.md runs them as systemd units): started once, they serve every coordinator that
/// appears at their seed address (--service, as the units run them: no limit on the wait for the first). Coordinators come and go here as on a real cluster — one ends because its grid is
/// done, one with --stay is stopped with SIGTERM — and each next one on the same port gets both waiting nodes within
/// 10 s of coming up, and they train its grid.
/// </summary>
[Collection(ProcessLanes.Services)]
public sealed class NodeServiceTests(ITestOutputHelper output) : IDisposable
{
    readonly string _work = Directory.CreateTempSubdirectory("samcluster-node-service-").FullName;

    /// <summary>How soon a waiting node must join a coordinator that came up at its seed address.</summary>
    static readonly TimeSpan JoinWithin = TimeSpan.FromSeconds(10);

    [Fact]
    public void Nodes_started_once_serve_each_coordinator_that_comes_after_the_last_one_ended_or_was_stopped()
    {
        // Trials of a few seconds: long enough that the first node to join cannot take both before the other joins.
        var grid = ProcessTests.WriteTinyGrid(_work, optimizers: "[sgd, sam]", repeats: 1, epochs: 2, trainImages: 200, testImages: 25);
        var port = ProcessTests.FreePort().ToString();
        var nodeLines = new ConcurrentQueue<string>();
        using var nodeA = ProcessTests.Start(output, nodeLines, "node", "--coordinator", $"127.0.0.1:{port}", "--devices", "cpu", "--threads", "1", "--name", "node-a", "--service");
        using var nodeB = ProcessTests.Start(output, nodeLines, "node", "--coordinator", $"127.0.0.1:{port}", "--devices", "cpu", "--threads", "1", "--name", "node-b", "--service");

        // Grid A: its coordinator ends by itself (exit 0) once the grid is done; the nodes stay and say they wait.
        var runA = Path.Combine(_work, "run-a");
        var linesA = new ConcurrentQueue<string>();
        using (var coordinatorA = ProcessTests.StartCoordinator(output, linesA, "coordinator", grid, "--out", runA, "--port", port))
        {
            // The nodes may still be starting (a .NET process, libtorch) when A comes up: no clock on this first join.
            Assert.True(ProcessTests.WaitFor(() => BothJoined(linesA), TimeSpan.FromMinutes(2)), "both nodes had not joined grid A within 2 minutes");
            Assert.True(coordinatorA.WaitForExit(TimeSpan.FromMinutes(3)), "grid A did not finish within 3 minutes");
            coordinatorA.WaitForExit();
            Assert.Equal(0, coordinatorA.ExitCode);
        }
        AssertBothNodesWaiting(nodeLines, nodeA, nodeB, times: 1);
        FaultToleranceTests.AssertEachTrialOnce(runA, 2);
        Assert.DoesNotContain(linesA, l => l.Contains(" lost ("));   // their leaving after the grid is no loss

        // Grid B, a new run on the same port with --stay: both nodes train it; then it is stopped with SIGTERM.
        var runB = Path.Combine(_work, "run-b");
        var linesB = new ConcurrentQueue<string>();
        var joinsBeforeB = Joins(nodeLines);
        using (var coordinatorB = ProcessTests.StartCoordinator(output, linesB, "coordinator", grid, "--out", runB, "--port", port, "--stay"))
        {
            AssertBothJoinWithinTenSeconds(nodeLines, joinsBeforeB, linesB, "grid B");
            Assert.True(ProcessTests.WaitFor(() => linesB.Any(l => l.Contains("Grid finished: 2 completed")), TimeSpan.FromMinutes(3)),
                "grid B did not finish within 3 minutes");
            Assert.False(coordinatorB.HasExited, "a --stay coordinator exited after its grid");
            ProcessTests.Terminate(coordinatorB);
            Assert.True(coordinatorB.WaitForExit(TimeSpan.FromSeconds(30)), "the --stay coordinator did not stop on SIGTERM");
            ProcessTests.AssertStoppedBySigterm(coordinatorB, linesB);
        }
        FaultToleranceTests.AssertEachTrialOnce(runB, 2);
        var nodesOfB = File.ReadAllLines(Path.Combine(runB, "trials.csv")).Skip(1).Select(r => r.Contains(",node-a,") ? "node-a" : r.Contains(",node-b,") ? "node-b" : r);
        Assert.Equal(["node-a", "node-b"], nodesOfB.Order().ToArray());   // one worker each: each node trained one trial of B
        AssertBothNodesWaiting(nodeLines, nodeA, nodeB, times: 2);

        // A third coordinator after the stopped one gets them too.
        var linesC = new ConcurrentQueue<string>();
        var joinsBeforeC = Joins(nodeLines);
        using (var coordinatorC = ProcessTests.StartCoordinator(output, linesC, "coordinator", grid, "--out", Path.Combine(_work, "run-c"), "--port", port))
        {
            AssertBothJoinWithinTenSeconds(nodeLines, joinsBeforeC, linesC, "grid C");
            ProcessTests.Terminate(coordinatorC);
            Assert.True(coordinatorC.WaitForExit(TimeSpan.FromSeconds(30)), "the coordinator did not stop on SIGTERM");
        }

        foreach (var node in new[] { nodeA, nodeB })
        {
            ProcessTests.Terminate(node);
            Assert.True(node.WaitForExit(TimeSpan.FromSeconds(30)), "a node did not stop on SIGTERM");
            ProcessTests.AssertStoppedBySigterm(node, nodeLines);
        }
        // Stopped soon after C left, while each node may be starting its next actor system: still one clean stop. (Akka's
        // own exit hook used to end that system mid-start: a critical line and a trace, or "Not admitted" and a retry.)
        Assert.DoesNotContain(nodeLines, l => l.Contains("[FTL]") || l.Contains("[ERR]") || l.Contains("Not admitted"));
    }

    /// <summary>Both nodes joined the new coordinator's cluster within <see cref="JoinWithin"/> of its "up" line (which
    /// StartCoordinator has just seen, so the clock starts no later than the coordinator did), and their workers then
    /// registered with it. The clock is on the nodes' part: how long the coordinator itself takes to read its run back
    /// before it takes workers depends on the machine's load (seen at 10 s on 2 busy cores), not on the nodes.</summary>
    static void AssertBothJoinWithinTenSeconds(ConcurrentQueue<string> nodeLines, IReadOnlyDictionary<string, int> joinsBefore,
        ConcurrentQueue<string> coordinatorLines, string what)
    {
        var clock = Stopwatch.StartNew();
        var joined = ProcessTests.WaitFor(() => Joins(nodeLines).All(j => j.Value > joinsBefore[j.Key]), JoinWithin);
        Assert.True(joined, $"both nodes had not joined {what}'s coordinator {JoinWithin.TotalSeconds:F0} s after it came up (waited {clock.Elapsed.TotalSeconds:F1} s)");
        Assert.True(ProcessTests.WaitFor(() => BothJoined(coordinatorLines), TimeSpan.FromMinutes(1)), $"the nodes' workers did not register with {what}'s coordinator");
    }

    /// <summary>How often each node has said it joined a coordinator's cluster so far.</summary>
    static Dictionary<string, int> Joins(ConcurrentQueue<string> nodeLines) =>
        new[] { "node-a", "node-b" }.ToDictionary(n => n, n => nodeLines.Count(l => l.Contains($"{n}: Node {n} joined the cluster at")));

    static bool BothJoined(ConcurrentQueue<string> lines) =>
        lines.Any(l => l.Contains("Worker w0@node-a/cpu joined")) && lines.Any(l => l.Contains("Worker w0@node-b/cpu joined"));

    /// <summary>Each node said <paramref name="times"/> times that the coordinator left and it waits for the next one, and
    /// it still runs.</summary>
    static void AssertBothNodesWaiting(ConcurrentQueue<string> nodeLines, Process nodeA, Process nodeB, int times)
    {
        foreach (var name in new[] { "node-a", "node-b" })
            Assert.True(ProcessTests.WaitFor(() => nodeLines.Count(l => l.Contains($"{name}: The coordinator at") && l.Contains("waiting for the next coordinator")) >= times,
                TimeSpan.FromSeconds(30)), $"{name} did not say it waits for the next coordinator (departure {times})");
        Assert.False(nodeA.HasExited, "node-a exited when the coordinator left");
        Assert.False(nodeB.HasExited, "node-b exited when the coordinator left");
    }

    public void Dispose()
    {
        ProcessTests.KillLeftovers(output);
        Directory.Delete(_work, recursive: true);
    }
}
