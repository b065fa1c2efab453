using Akka.Actor;
using Akka.Cluster;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace SamCluster.Hosting;

/// <summary>Where the health endpoints listen: --health-port PORT, --health-host HOST (127.0.0.1 unless said).</summary>
public sealed record HealthEndpoint(string Host, int Port)
{
    public string ReadyUrl => $"http://{(Host.Contains(':') ? $"[{Host}]" : Host)}:{Port}{ClusterHealth.ReadyPath}";
}

/// <summary>Health endpoints for orchestrators' probes: GET /health/alive answers 200 while the process serves;
/// GET /health/ready answers 200 while this process's actor system is an Up member of the cluster (a coordinator that
/// formed it, a node that joined its coordinator), else 503. The system is asked for on every probe, so a node that
/// rejoins with a new actor system is followed. Served by Kestrel, as the live page is: Akka.Management 1.5.73's own
/// HTTP server (Akka.Http.Shim 1.5.73) calls Ceen.Httpd 0.9.9's HttpServer.ListenAsync, which the only Ceen.Httpd
/// served here (0.9.10) lacks, so it fails at start with a MissingMethodException.</summary>
public sealed class ClusterHealth : IAsyncDisposable
{
    public const string AlivePath = "/health/alive", ReadyPath = "/health/ready";
    readonly WebApplication _app;

    ClusterHealth(WebApplication app) => _app = app;

    /// <summary>Up in the cluster: what readiness means here.</summary>
    public static bool IsReady(ActorSystem? system) =>
        system is not null && !system.WhenTerminated.IsCompleted && Cluster.Get(system).SelfMember.Status == MemberStatus.Up;

    public static async Task<ClusterHealth> StartAsync(HealthEndpoint endpoint, Func<ActorSystem?> currentSystem, Serilog.ILogger logger,
        CancellationToken cancel)
    {
        var app = WebServer.CreateBuilder(typeof(ClusterHealth), HostAddress.Resolve(endpoint.Host, "--health-host", cancel), endpoint.Port, logger).Build();
        app.MapGet(AlivePath, () => Results.Text("alive\n", "text/plain; charset=utf-8"));
        app.MapGet(ReadyPath, () => IsReady(currentSystem())
            ? Results.Text("ready\n", "text/plain; charset=utf-8")
            : Results.Text("not ready: not an Up member of the cluster\n", "text/plain; charset=utf-8", statusCode: StatusCodes.Status503ServiceUnavailable));
        await app.StartAsync(cancel);
        return new ClusterHealth(app);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
