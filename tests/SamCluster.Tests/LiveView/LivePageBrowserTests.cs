using System.Net;
using Microsoft.Playwright;
using SamCluster.Coordinator.LiveView;
using Xunit;

namespace SamCluster.Tests.LiveView;

/// <summary>
/// The live page in a real browser: Debian's Chromium, headless, driven by Playwright with the system browser as its
/// executable (nothing downloaded). The page must load with no console error, list every trial, and gain a point on
/// its test-accuracy curve when an epoch arrives over the event stream. A screenshot is left in the test output
/// folder (artifacts/live-page.png, out of git) to look at.
/// </summary>
public sealed class LivePageBrowserTests : IAsyncLifetime
{
    readonly string _dir = Directory.CreateTempSubdirectory("samcluster-page-").FullName;
    readonly SyntheticRun _run;
    LiveViewServer? _server;

    public LivePageBrowserTests() => _run = new SyntheticRun(Path.Combine(_dir, "report.json"));

    /// <summary>Debian's real binary (its /usr/bin/chromium is a wrapper script), else whatever `chromium` is on PATH.</summary>
    static string? Chromium() =>
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
        Skip.If(chromium is null, "no Chromium installed (Debian: apt-get install chromium; deploy/setup.sh --dev and .ci/run install it)");
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],   // root in CI has no sandbox
        });
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

    public async Task DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }
}
