using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SamCluster.Coordinator.LiveView;

namespace SamCluster.Coordinator.Serving;

/// <summary>
/// `samcluster serve`: the live page and its JSON API, read-only, for every run under the folders given, finished or
/// running (a running one is followed through its files, read again each <see cref="PollInterval"/> when they change).
/// <c>/</c> the index page, <c>GET /api/runs</c> the index (<see cref="RunSummary"/> rows), and under
/// <c>/runs/{name}/</c> each run's page with every endpoint the coordinator's page has (<c>api/trials</c>,
/// <c>api/trials/{id}/epochs</c>, <c>api/report</c>, <c>api/events</c>, <c>logs/{id}</c>). Runs that appear under the
/// folders later are added, runs removed are dropped. Files are read only through <see cref="SamCluster.RunStore.RunFolderFile"/>.
/// </summary>
public sealed class RunsServer : IAsyncDisposable
{
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    readonly IReadOnlyList<string> _folders;
    readonly Serilog.ILogger _logger;
    readonly CancellationTokenSource _stop = new();
    volatile IReadOnlyList<FollowedRun> _runs;
    WebApplication? _app;
    Task? _poll;

    RunsServer(IReadOnlyList<string> folders, IReadOnlyList<RunLocation> found, Serilog.ILogger logger)
    {
        _folders = folders;
        _logger = logger;
        _runs = found.Select(r => new FollowedRun(r)).ToList();
    }

    /// <summary>Where the index page is, e.g. http://127.0.0.1:8080/.</summary>
    public Uri Url { get; private set; } = null!;

    /// <summary>The runs served now, by name.</summary>
    public IReadOnlyList<FollowedRun> Runs => _runs;

    /// <summary>Finds the runs (a folder missing or without a run: <see cref="Messages.UserInputException"/>, before
    /// anything listens), reads each once, and starts listening.</summary>
    public static async Task<RunsServer> StartAsync(IReadOnlyList<string> folders, IPAddress address, int port, Serilog.ILogger logger,
        CancellationToken cancel)
    {
        var server = new RunsServer(folders, RunIndex.FindAll(folders), logger);
        server.Refresh();
        var builder = SamCluster.Hosting.WebServer.CreateBuilder(typeof(RunsServer), address, port, logger);
        // Open pages hold event streams; stopping must not wait for them.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
        var app = builder.Build();
        server.Map(app);
        await app.StartAsync(cancel);
        server._app = app;
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var shown = address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) ? Dns.GetHostName() : address.ToString();
        if (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && !address.Equals(IPAddress.IPv6Any)) shown = $"[{shown}]";
        server.Url = new Uri($"http://{shown}:{new Uri(bound).Port}/");
        server._poll = Task.Run(server.PollAsync);
        return server;
    }

    void Map(WebApplication app)
    {
        app.MapGet("/", () => LiveViewServer.Asset("runs.html", "text/html; charset=utf-8"));
        app.MapGet("/runs.js", () => LiveViewServer.Asset("runs.js", "text/javascript; charset=utf-8"));
        app.MapGet("/live.css", () => LiveViewServer.Asset("live.css", "text/css; charset=utf-8"));
        app.MapGet("/api/runs", () => LiveViewServer.JsonText(RunsTable.WriteJson(Summaries())));
        app.MapGet("/runs/{**path}", (HttpContext context, string? path) => ServeRun(context, path ?? ""));
    }

    IReadOnlyList<RunSummary> Summaries() => _runs.Select(r => r.Summary).OfType<RunSummary>().ToList();

    /// <summary>"/runs/{name}/{resource}": the run whose name is the longest that the path starts with (names hold
    /// slashes: "2026/quick"), then its resource as the coordinator's page serves it.</summary>
    Task ServeRun(HttpContext context, string path)
    {
        var run = _runs.Where(r => path == r.Location.Name || path.StartsWith(r.Location.Name + "/", StringComparison.Ordinal))
            .MaxBy(r => r.Location.Name.Length);
        if (run is null) return LiveViewServer.NotFound($"no run named {path.Split('/')[0]} here (GET /api/runs lists them)").ExecuteAsync(context);
        // The page's links are relative: its address must end in '/'.
        if (path == run.Location.Name) return Results.Redirect(context.Request.Path.ToUriComponent() + "/").ExecuteAsync(context);
        if (run.Live is not { } live)
            return LiveViewServer.NotFound($"run {run.Location.Name} cannot be shown: {run.Problem}").ExecuteAsync(context);
        return LiveViewServer.Serve(context, live, run.Location.Root, run.TrialLog, path[(run.Location.Name.Length + 1)..]);
    }

    async Task PollAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(PollInterval, _stop.Token);
                Refresh();
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // A run folder changing under us is no reason to stop serving the others; said once per failed poll.
                _logger.Warning(e, "serve: reading the run folders failed; trying again");
            }
        }
    }

    /// <summary>Looks for runs again under the folders given (new ones added, vanished ones dropped) and reads each one
    /// whose files changed.</summary>
    public void Refresh()
    {
        var known = _runs.ToDictionary(r => r.Location.Name);
        var found = _folders.Where(Directory.Exists).SelectMany(RunIndex.Find).DistinctBy(r => r.Name).OrderBy(r => r.Name, StringComparer.Ordinal)
            .Select(r => known.GetValueOrDefault(r.Name) is { } same && same.Location.Root == r.Root ? same : new FollowedRun(r)).ToList();
        foreach (var gone in known.Values.Except(found)) gone.Close();
        var now = DateTimeOffset.UtcNow;
        foreach (var run in found) run.Refresh(now);
        _runs = found;
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        if (_poll is not null) await _poll;
        foreach (var run in _runs) run.Close();
        if (_app is not null)
        {
            await _app.StopAsync(CancellationToken.None);
            await _app.DisposeAsync();
        }
        _stop.Dispose();
    }
}
