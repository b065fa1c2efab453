using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SamCluster.RunStore;

namespace SamCluster.Coordinator.LiveView;

/// <summary>
/// The coordinator's web page and its JSON API, served by Kestrel inside the coordinator process:
/// <c>/</c> the page (its script and style are embedded: clusters are often offline, so nothing comes from a CDN),
/// <c>GET /api/trials</c>, <c>GET /api/trials/{id}/epochs</c>, <c>GET /api/report</c> (404 until the report is written),
/// <c>GET /api/events</c> (server-sent events: a snapshot, then each change) and <c>/logs/{id}</c> (a trial's log).
/// </summary>
public sealed class LiveViewServer : IAsyncDisposable
{
    /// <summary>A page that stays open gets a comment line this often, so a dead connection is noticed and closed.</summary>
    static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);

    readonly WebApplication _app;
    readonly LiveRun _live;

    LiveViewServer(WebApplication app, LiveRun live, Uri url)
    {
        _app = app;
        _live = live;
        Url = url;
    }

    /// <summary>Where the page is, e.g. http://127.0.0.1:8080/.</summary>
    public Uri Url { get; }

    /// <param name="logger">Where ASP.NET Core's own warnings and errors go (the run's logs); information is left out.</param>
    /// <param name="runFolder">The run folder: files are served from it only (<see cref="RunFolderFile"/>).</param>
    /// <param name="logFile">Finds a trial's log file by its id.</param>
    public static async Task<LiveViewServer> StartAsync(LiveRun live, IPAddress address, int port, string runFolder, Func<string, string> logFile,
        Serilog.ILogger logger, CancellationToken cancel)
    {
        var builder = SamCluster.Hosting.WebServer.CreateBuilder(typeof(LiveViewServer), address, port, logger);
        // Open pages hold event streams; stopping must not wait for them.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
        var app = builder.Build();
        Map(app, live, runFolder, logFile);
        await app.StartAsync(cancel);
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var actualPort = new Uri(bound).Port;
        var shown = address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) ? Dns.GetHostName() : address.ToString();
        if (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && !address.Equals(IPAddress.IPv6Any)) shown = $"[{shown}]";
        return new LiveViewServer(app, live, new Uri($"http://{shown}:{actualPort}/"));
    }

    static void Map(WebApplication app, LiveRun live, string runFolder, Func<string, string> logFile)
    {
        app.MapGet("/", () => Asset("index.html", "text/html; charset=utf-8"));
        app.MapGet("/live.js", () => Asset("live.js", "text/javascript; charset=utf-8"));
        app.MapGet("/live.css", () => Asset("live.css", "text/css; charset=utf-8"));
        app.MapGet("/api/trials", () => JsonText(live.TrialsJson()));
        app.MapGet("/api/trials/{**path}", (string path) => TrialResource(live, path));
        app.MapGet("/api/report", () => Report(live));
        app.MapGet("/api/events", (HttpContext context) => StreamEvents(context, live));
        app.MapGet("/logs/{**path}", (string path) => TrialLog(live, runFolder, logFile, path));
    }

    /// <summary>A run's page and API below its own root, as <c>serve</c> mounts each run at <c>/runs/{name}/</c>: the same
    /// resources as the coordinator's page at <c>/</c> (<paramref name="path"/>: what follows the root, "" for the page).</summary>
    public static Task Serve(HttpContext context, LiveRun live, string runFolder, Func<string, string> logFile, string path)
    {
        if (path == "api/events") return StreamEvents(context, live);
        var result = path switch
        {
            "" => Asset("index.html", "text/html; charset=utf-8"),
            "live.js" => Asset("live.js", "text/javascript; charset=utf-8"),
            "live.css" => Asset("live.css", "text/css; charset=utf-8"),
            "api/trials" => JsonText(live.TrialsJson()),
            "api/report" => Report(live),
            _ when path.StartsWith("api/trials/", StringComparison.Ordinal) => TrialResource(live, path["api/trials/".Length..]),
            _ when path.StartsWith("logs/", StringComparison.Ordinal) => TrialLog(live, runFolder, logFile, path["logs/".Length..]),
            _ => NotFound($"no such resource: {path}"),
        };
        return result.ExecuteAsync(context);
    }

    // Trial ids hold slashes ("fashion-mnist/resnet18/sam/2"): taken whole, raw or percent-encoded.
    static IResult TrialResource(LiveRun live, string path)
    {
        var id = Uri.UnescapeDataString(path);
        if (!id.EndsWith("/epochs", StringComparison.Ordinal)) return NotFound($"no such resource: /api/trials/{path}");
        return live.EpochsJson(id[..^"/epochs".Length]) is { } json ? JsonText(json) : NotFound($"no trial {id[..^"/epochs".Length]} in this grid");
    }

    static IResult Report(LiveRun live) => live.ReportJson() is { } json
        ? JsonText(json)
        : NotFound("the report is written when every trial has finished");

    static IResult TrialLog(LiveRun live, string runFolder, Func<string, string> logFile, string path)
    {
        var id = Uri.UnescapeDataString(path);
        // Only the grid's own trials: the id becomes a path, so nothing else may reach the file system.
        if (!live.IsTrial(id)) return NotFound($"no trial {id} in this grid");
        // A trial's log may still be a link placed in logs/ (or a folder of it one): only the run's own file is served.
        return RunFolderFile.TryReadText(runFolder, logFile(id), out var text, out var why) switch
        {
            RunFolderFile.Outcome.Read => Results.Text(text, "text/plain; charset=utf-8"),
            RunFolderFile.Outcome.Missing => NotFound($"{id} has no log yet"),
            _ => NotFound($"the log of {id} is not served: {why}"),
        };
    }

    static async Task StreamEvents(HttpContext context, LiveRun live)
    {
        context.Response.Headers.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers["X-Accel-Buffering"] = "no";   // a reverse proxy must not hold events back
        var stopping = context.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        using var ended = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
        var messages = live.Subscribe();
        try
        {
            await context.Response.WriteAsync("retry: 2000\n\n", ended.Token);
            while (!ended.IsCancellationRequested)
            {
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(ended.Token);
                wait.CancelAfter(KeepAlive);
                bool more;
                try { more = await messages.WaitToReadAsync(wait.Token); }
                catch (OperationCanceledException) when (!ended.IsCancellationRequested)
                {
                    await context.Response.WriteAsync(": keep-alive\n\n", ended.Token);
                    await context.Response.Body.FlushAsync(ended.Token);
                    continue;
                }
                if (!more) break;                // dropped for falling behind: the browser reconnects for a snapshot
                var text = new StringBuilder();
                while (messages.TryRead(out var m)) text.Append("event: ").Append(m.Event).Append("\ndata: ").Append(m.Data).Append("\n\n");
                await context.Response.WriteAsync(text.ToString(), ended.Token);
                await context.Response.Body.FlushAsync(ended.Token);
            }
        }
        catch (OperationCanceledException) when (ended.IsCancellationRequested)
        {
            // The page went away or the server is stopping.
        }
        catch (IOException)
        {
            // The connection broke mid-write.
        }
        finally
        {
            live.Unsubscribe(messages);
        }
    }

    internal static IResult JsonText(string json) => Results.Text(json, "application/json; charset=utf-8");

    internal static IResult NotFound(string why) =>
        Results.Json(new { error = why }, statusCode: StatusCodes.Status404NotFound);

    internal static IResult Asset(string name, string contentType)
    {
        using var stream = typeof(LiveViewServer).Assembly.GetManifestResourceStream($"LiveView/{name}")
                           ?? throw new InvalidOperationException($"the page's {name} is not embedded in {typeof(LiveViewServer).Assembly.GetName().Name}");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return Results.Text(reader.ReadToEnd(), contentType);
    }

    public async ValueTask DisposeAsync()
    {
        _live.CloseAll();
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }
}
