using System.Net;
using Xunit;
using Xunit.Abstractions;

namespace SamCluster.Tests.Cluster;

/// <summary>GET /health/alive and /health/ready of a node and a coordinator, as an orchestrator's probes see them: a node
/// whose coordinator is not up yet is alive but not ready; both are ready once the node has joined.</summary>
[Collection(ProcessLanes.Resume)]
public sealed class HealthEndpointTests(ITestOutputHelper output) : IDisposable
{
    readonly string _work = Directory.CreateTempSubdirectory("samcluster-health-").FullName;
    readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(5) };

    HttpStatusCode? Probe(int port, string path)
    {
        try { return _http.GetAsync($"http://127.0.0.1:{port}{path}").GetAwaiter().GetResult().StatusCode; }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { return null; }
    }

    [Fact]
    public void Node_is_ready_once_joined_and_the_coordinator_once_up()
    {
        var grid = ProcessTests.WriteTinyGrid(_work, optimizers: "[sgd]", repeats: 1);
        var port = ProcessTests.FreePort();
        var (nodeHealth, coordinatorHealth) = (ProcessTests.FreePort(), ProcessTests.FreePort());

        using var node = ProcessTests.Start(output, "node", "--coordinator", $"127.0.0.1:{port}", "--devices", "cpu", "--threads", "1",
            "--name", "probed", "--health-port", nodeHealth.ToString());
        Assert.True(ProcessTests.WaitFor(() => Probe(nodeHealth, "/health/alive") == HttpStatusCode.OK, TimeSpan.FromSeconds(60)), "node never alive");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, Probe(nodeHealth, "/health/ready"));   // no coordinator yet
        Assert.Equal(HttpStatusCode.NotFound, Probe(nodeHealth, "/health"));

        // --stay: the coordinator keeps running after its grid, so its readiness can be read at leisure.
        using var coordinator = ProcessTests.Start(output, "coordinator", grid, "--out", Path.Combine(_work, "run"), "--port", port.ToString(),
            "--stay", "--health-port", coordinatorHealth.ToString());
        Assert.True(ProcessTests.WaitFor(() => Probe(coordinatorHealth, "/health/ready") == HttpStatusCode.OK, TimeSpan.FromSeconds(90)), "coordinator never ready");
        Assert.Equal(HttpStatusCode.OK, Probe(coordinatorHealth, "/health/alive"));
        Assert.True(ProcessTests.WaitFor(() => Probe(nodeHealth, "/health/ready") == HttpStatusCode.OK, TimeSpan.FromSeconds(90)), "node never ready after the coordinator came up");

        ProcessTests.Terminate(node);
        ProcessTests.Terminate(coordinator);
        foreach (var process in new[] { node, coordinator })
            Assert.True(process.WaitForExit(TimeSpan.FromSeconds(30)), "a process did not stop on SIGTERM");
    }

    public void Dispose()
    {
        _http.Dispose();
        ProcessTests.KillLeftovers(output);
        Directory.Delete(_work, recursive: true);
    }
}
