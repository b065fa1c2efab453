using System.Net;
using Microsoft.Playwright;
using SamCluster.Coordinator.LiveView;
using SamCluster.Reporting;
using Xunit;

namespace SamCluster.Tests.LiveView;

/// <summary>
/// The live page in a real browser: Debian's Chromium, headless, driven by Playwright with the system browser as its
/// executable (nothing downloaded). The page must load with no console error, list every trial, and gain a point on
/// its test-accuracy curve when an epoch arrives over the event stream; once the report is written, its table shows each
/// comparison's time ratio. A screenshot is left in the test output
/// folder (artifacts/live-page.png, out of git) to look at.
/// </summary>
public sealed class LivePageBrowserTests : IAsyncLifetime
{
    readonly string _dir = Directory.CreateTempSubdirectory("samcluster-page-").FullName;
    readonly SyntheticRun _run;
    LiveViewServer? _server;

    public LivePageBrowserTests() => _run = new SyntheticRun(Path.Combine(_dir, "report.json"));

    /// <summary>Debian's real binary (its /usr/bin/chromium is a wrapper script), else whatever `chromium` is on PATH.</summary>
    internal static string? Chromium() =>
        new[] { "/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists)
        ?? (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, "chromium")).FirstOrDefault(File.Exists);

    public async Task InitializeAsync()
    {
        _server = await LiveViewServer.StartAsync(_run.Live, IPAddress.Loopback, 0, _dir, id => Path.Combine(_dir, "logs", id + ".log"),
            Serilog.Core.Logger.None, CancellationToken.None);
        _run.Start();
        // Some history before the page opens: it must come with the snapshot.
        _run.Begin(SyntheticRun.Trials[0], 1);
        _run.Epoch(SyntheticRun.Trials[0], 1, 1, testAcc: 70);
        _run.Begin(SyntheticRun.Trials[1], 1, node: "node-2");
        _run.Epoch(SyntheticRun.Trials[1], 1, 1, testAcc: 72);
    }

    [SkippableFact]
    public async Task The_page_loads_without_console_errors_lists_the_trials_and_a_curve_gains_a_point_when_an_epoch_arrives()
    {
        var chromium = Chromium();
        Skip.If(chromium is null, NoChromium);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await Launch(playwright, chromium);
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1000 } });
        var errors = new List<string>();
        page.Console += (_, message) => { if (message.Type == "error") lock (errors) errors.Add($"{message.Text} ({message.Location})"); };
        page.PageError += (_, error) => { lock (errors) errors.Add(error); };

        var response = await page.GotoAsync(_server!.Url.ToString());
        Assert.Equal(200, response!.Status);
        await page.WaitForSelectorAsync("#connection.live");

        // Every trial is listed, with its status.
        await page.WaitForFunctionAsync($"document.querySelectorAll('#trials tbody tr').length === {SyntheticRun.Trials.Length}");
        var ids = await page.EvalOnSelectorAllAsync<string[]>("#trials tbody tr td:first-child", "cells => cells.map(c => c.textContent)");
        Assert.Equal(SyntheticRun.Trials.Select(t => t.Key.Id), ids);
        Assert.Equal("running", await page.TextContentAsync($"#trials tr[data-trial='{SyntheticRun.Trials[0].Key.Id}'] .status"));

        // The test-accuracy chart holds one point per optimizer (epoch 1 of each); an arriving epoch adds one.
        const string points = "document.querySelectorAll('svg[data-metric=\"test_acc\"] circle.point').length";
        await page.WaitForFunctionAsync($"{points} === 2");
        _run.Epoch(SyntheticRun.Trials[0], 1, 2, testAcc: 78);
        await page.WaitForFunctionAsync($"{points} === 3");
        Assert.Equal(1, await page.EvaluateAsync<int>("document.querySelectorAll('svg[data-metric=\"test_acc\"] circle.point[data-epoch=\"2\"]').length"));
        await page.WaitForFunctionAsync($"document.querySelector(\"#trials tr[data-trial='{SyntheticRun.Trials[0].Key.Id}'] td:nth-child(4)\").textContent === '2/3'");

        // A finished trial and the progress line follow.
        _run.Epoch(SyntheticRun.Trials[0], 1, 3, testAcc: 80);
        _run.Complete(SyntheticRun.Trials[0], 1);
        await page.WaitForSelectorAsync($"#trials tr[data-trial='{SyntheticRun.Trials[0].Key.Id}'] .status.completed");

        var artifacts = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "artifacts")).FullName;
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(artifacts, "live-page.png"), FullPage = true });
        lock (errors) Assert.Empty(errors);
    }

    [SkippableFact]
    public async Task The_report_table_shows_each_comparisons_time_ratio_once_the_report_is_written()
    {
        var chromium = Chromium();
        Skip.If(chromium is null, NoChromium);
        // SGD 100 s a trial, SAM 179 s, ASAM 150 s: the page reads each optimizer's own comparison, not only the primary.
        static TrialResultRow Row(string optimizer, int repeat, double test, double seconds) =>
            new("fashion-mnist", "resnet18", optimizer, repeat, true, 99, test, seconds, 3, null, 0);
        var report = ReportBuilder.Build(
            [Row("sgd", 1, 90, 100), Row("sgd", 2, 91, 100), Row("sam", 1, 92, 178), Row("sam", 2, 93, 180), Row("asam", 1, 89, 150), Row("asam", 2, 90, 150)],
            new ReportOptions(Curves: false));
        File.WriteAllText(Path.Combine(_dir, "report.json"), JsonReport.Write(report));
        _run.Live.OnReportWritten();

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await Launch(playwright, chromium);
        var page = await browser.NewPageAsync();
        var errors = new List<string>();
        page.PageError += (_, error) => { lock (errors) errors.Add(error); };
        await page.GotoAsync(_server!.Url.ToString());
        await page.WaitForFunctionAsync("document.querySelectorAll('#report-table tbody tr').length === 3");
        var header = await page.EvalOnSelectorAllAsync<string[]>("#report-table thead th", "cells => cells.map(c => c.textContent)");
        Assert.Equal("time ratio", header[^1]);
        var rows = await page.EvalOnSelectorAllAsync<string[][]>("#report-table tbody tr",
            "rows => rows.map(r => [r.children[3].textContent, r.lastElementChild.textContent])");
        Assert.Equal([["sgd", ""], ["sam", "1.79× SGD"], ["asam", "1.50× SGD"]], rows);
        lock (errors) Assert.Empty(errors);
    }

    internal const string NoChromium = "no Chromium installed (Debian: apt-get install chromium; deploy/setup.sh --dev and .ci/run install it)";

    internal static Task<IBrowser> Launch(IPlaywright playwright, string chromium) =>
        playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],   // root in CI has no sandbox
        });

    public async Task DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }
}
