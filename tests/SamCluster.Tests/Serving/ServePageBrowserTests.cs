using System.Net;
using Microsoft.Playwright;
using SamCluster.Coordinator.Serving;
using SamCluster.RunStore;
using Xunit;

namespace SamCluster.Tests.Serving;

/// <summary>
/// `serve` in a real browser (Debian's Chromium, headless, through Playwright, as <see cref="LiveView.LivePageBrowserTests"/>):
/// a finished run and a running one side by side on the index, each with its own page — the finished one with every
/// trial completed and its report, the running one gaining a curve point when its epochs.csv grows. No console error.
/// Screenshots are left in the test output folder (artifacts/serve-*.png, out of git).
/// </summary>
public sealed class ServePageBrowserTests : IAsyncLifetime
{
    readonly RunFolders _runs = new();
    RunsServer? _server;
    RunFolder? _running;

    public async Task InitializeAsync()
    {
        _runs.Finished("quick");
        _running = _runs.Running("live");
        _server = await RunsServer.StartAsync([_runs.Top], IPAddress.Loopback, 0, Serilog.Core.Logger.None, CancellationToken.None);
    }

    static string? Chromium() =>
        new[] { "/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists)
        ?? (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, "chromium")).FirstOrDefault(File.Exists);

    [SkippableFact]
    public async Task The_index_shows_a_finished_and_a_running_run_and_each_runs_page_follows_its_files()
    {
        var chromium = Chromium();
        Skip.If(chromium is null, "no Chromium installed (Debian: apt-get install chromium; deploy/setup.sh --dev and .ci/run install it)");
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = chromium, Headless = true, Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        });
        var errors = new List<string>();
        async Task<IPage> Open(string path)
        {
            var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1000 } });
            page.Console += (_, message) => { if (message.Type == "error") lock (errors) errors.Add($"{message.Text} ({message.Location})"); };
            page.PageError += (_, error) => { lock (errors) errors.Add(error); };
            Assert.Equal(200, (await page.GotoAsync(new Uri(_server!.Url, path).ToString()))!.Status);
            return page;
        }
        var artifacts = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "artifacts")).FullName;

        // The index: both runs, side by side in one table, each with its state; the finished one with its verdict.
        var index = await Open("/");
        await index.WaitForFunctionAsync("document.querySelectorAll('#runs tbody tr').length === 2");
        var rows = await index.EvalOnSelectorAllAsync<string[][]>("#runs tbody tr",
            "rows => rows.map(r => [r.children[0].textContent, r.children[2].textContent, r.children[4].textContent, r.children[9].textContent])");
        Assert.Equal(["live", "running", "0"], rows[0][..3]);
        Assert.Equal(["quick", "finished", "6"], rows[1][..3]);
        Assert.Contains("SAM vs SGD: +2.00 pp", rows[1][3]);
        await index.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(artifacts, "serve-index.png"), FullPage = true });

        // The finished run's page, reached from the index: every trial completed, the report's table shown.
        await index.ClickAsync("#runs tr[data-run='quick'] a");
        await index.WaitForSelectorAsync("#connection.live");
        await index.WaitForFunctionAsync("document.querySelectorAll('#trials tbody .status.completed').length === 6");
        await index.WaitForFunctionAsync("document.querySelectorAll('#report-table tbody tr').length === 2");
        Assert.Contains("finished", await index.TextContentAsync("#progress-text"));
        await index.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(artifacts, "serve-finished.png"), FullPage = true });

        // The running run's page: its trials with epochs are running, and a new epoch in epochs.csv adds a point.
        var live = await Open("/runs/live/");
        await live.WaitForSelectorAsync("#connection.live");
        await live.WaitForFunctionAsync("document.querySelectorAll('#trials tbody .status.running').length === 2");
        const string points = "document.querySelectorAll('svg[data-metric=\"test_acc\"] circle.point').length";
        await live.WaitForFunctionAsync($"{points} === 2");
        RunFolders.AppendEpoch(_running!, RunFolders.Trials(2)[0], 2, testAcc: 88);
        await live.WaitForFunctionAsync($"{points} === 3", null, new PageWaitForFunctionOptions { Timeout = 20_000 });
        Assert.Contains("a process is running it", await live.TextContentAsync("#progress-text"));
        await live.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(artifacts, "serve-running.png"), FullPage = true });
        // Its link back leads to the index.
        await live.ClickAsync("#runs-link");
        await live.WaitForFunctionAsync("document.querySelectorAll('#runs tbody tr').length === 2");
        lock (errors) Assert.Empty(errors);
    }

    public async Task DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
        _runs.Dispose();
    }
}
