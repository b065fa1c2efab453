using System.Net;
using Microsoft.Playwright;
using SamCluster.Coordinator.LiveView;
using SamCluster.Reporting;
using Xunit;

namespace SamCluster.Tests.LiveView;

/// <summary>
/// Issue 27 on the live page, in headless Chromium as <see cref="LivePageBrowserTests"/> drives it: the curves show their
/// n (in the legend, and where it changes), an epoch not every running repeat has reached is drawn apart, a lone epoch
/// has an error bar; once the report is written, each comparison's verdict and its paired-difference dot plot appear.
/// </summary>
public sealed class LiveCurvesBrowserTests : IAsyncLifetime
{
    readonly string _dir = Directory.CreateTempSubdirectory("samcluster-curves-").FullName;
    readonly SyntheticRun _run;
    LiveViewServer? _server;

    public LiveCurvesBrowserTests() => _run = new SyntheticRun(Path.Combine(_dir, "report.json"));

    public async Task InitializeAsync()
    {
        _server = await LiveViewServer.StartAsync(_run.Live, IPAddress.Loopback, 0, _dir, id => Path.Combine(_dir, "logs", id + ".log"),
            Serilog.Core.Logger.None, CancellationToken.None);
        _run.Start();
    }

    static async Task<(IPage Page, List<string> Errors, IBrowser Browser, IPlaywright Playwright)> Open(string url)
    {
        var playwright = await Playwright.CreateAsync();
        var browser = await LivePageBrowserTests.Launch(playwright, LivePageBrowserTests.Chromium()!);
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1000 } });
        var errors = new List<string>();
        page.Console += (_, message) => { if (message.Type == "error") lock (errors) errors.Add($"{message.Text} ({message.Location})"); };
        page.PageError += (_, error) => { lock (errors) errors.Add(error); };
        await page.GotoAsync(url);
        await page.WaitForSelectorAsync("#connection.live");
        return (page, errors, browser, playwright);
    }

    const string TestChart = "svg[data-metric=\"test_acc\"]";

    [SkippableFact]
    public async Task Curves_show_their_n_draw_a_partial_epoch_apart_and_give_a_lone_epoch_an_error_bar()
    {
        Skip.If(LivePageBrowserTests.Chromium() is null, LivePageBrowserTests.NoChromium);
        var (page, errors, browser, playwright) = await Open(_server!.Url.ToString());
        try
        {
            // Two SGD repeats at epoch 1 (70 and 60), one SAM repeat: a lone epoch each, SGD's with its spread.
            var (sgd1, sam1, sgd2) = (SyntheticRun.Trials[0], SyntheticRun.Trials[1], SyntheticRun.Trials[2]);
            _run.Begin(sgd1, 1);
            _run.Epoch(sgd1, 1, 1, testAcc: 70);
            _run.Begin(sam1, 1, node: "node-2");
            _run.Epoch(sam1, 1, 1, testAcc: 72);
            _run.Begin(sgd2, 1);
            _run.Epoch(sgd2, 1, 1, testAcc: 60);
            await page.WaitForFunctionAsync($"document.querySelector('{TestChart} circle.point[data-optimizer=\"sgd\"]')?.dataset.n === '2'");
            Assert.Equal(3, await page.EvaluateAsync<int>($"document.querySelectorAll('{TestChart} line.errorbar').length"));   // SGD's only: SAM's n = 1 has no spread
            Assert.Equal(["SGD (n = 2)", "SAM (n = 1)"], await Legend(page));

            // SGD repeat 1 reaches epoch 2 before repeat 2: that point is over one repeat, drawn open on a dashed line, n marked.
            _run.Epoch(sgd1, 1, 2, testAcc: 75);
            await page.WaitForSelectorAsync($"{TestChart} circle.point.partial[data-optimizer=\"sgd\"][data-epoch=\"2\"]");
            Assert.Equal("1", await page.GetAttributeAsync($"{TestChart} circle.point.partial[data-epoch=\"2\"]", "data-n"));
            Assert.Equal("n=1", await page.TextContentAsync($"{TestChart} text.n-change[data-optimizer=\"sgd\"]"));
            Assert.Equal(1, await page.EvaluateAsync<int>($"document.querySelectorAll('{TestChart} polyline.mean.partial').length"));
            Assert.Equal(["SGD (n = 2 to 1)", "SAM (n = 1)", "○ dashed: not every repeat has reached this epoch yet"], await Legend(page));
            Assert.Equal(1, await page.EvaluateAsync<int>($"document.querySelectorAll('{TestChart} polyline.repeat').length"));   // repeat 1's own line

            // Repeat 2 catches up: nothing is partial any more, the mean is solid and n is one number again.
            _run.Epoch(sgd2, 1, 2, testAcc: 65);
            await page.WaitForFunctionAsync($"document.querySelectorAll('{TestChart} circle.point.partial').length === 0");
            Assert.Equal(["SGD (n = 2)", "SAM (n = 1)"], await Legend(page));
            Assert.Equal(0, await page.EvaluateAsync<int>($"document.querySelectorAll('{TestChart} text.n-change').length"));

            var artifacts = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "artifacts")).FullName;
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(artifacts, "live-curves.png"), FullPage = true });
            lock (errors) Assert.Empty(errors);
        }
        finally { await browser.DisposeAsync(); playwright.Dispose(); }
    }

    [SkippableFact]
    public async Task The_page_computes_each_epochs_mean_std_n_and_partial_as_the_report_does()
    {
        Skip.If(LivePageBrowserTests.Chromium() is null, LivePageBrowserTests.NoChromium);
        var (page, errors, browser, playwright) = await Open(_server!.Url.ToString());
        try
        {
            // Repeats 1 and 2 have epochs 1-2, repeat 3 only epoch 1: the same as the PNGs' LearningCurve.From.
            var points = (await page.EvaluateAsync<double[][]>(
                    "curveStats([[{epoch: 1, value: 20}, {epoch: 2, value: 24}], [{epoch: 2, value: 28}, {epoch: 1, value: 22}], [{epoch: 1, value: 30}]])" +
                    ".map(p => [p.epoch, p.mean, p.sd, p.n, p.partial ? 1 : 0])"))
                .Select(p => new CurveStat((int)p[0], p[1], p[2], (int)p[3], p[4] == 1)).ToArray();
            var expected = LearningCurve.From(
                [Row(1, 1, 20), Row(1, 2, 24), Row(2, 1, 22), Row(2, 2, 28), Row(3, 1, 30)], []).Single().Points;
            Assert.Equal(expected.Select(p => (p.Epoch, p.N, p.Partial)), points.Select(p => (p.Epoch, p.N, p.Partial)));
            for (var i = 0; i < expected.Count; i++)
            {
                Assert.Equal(expected[i].TestMean, points[i].Mean, 9);
                Assert.Equal(expected[i].TestSd ?? 0, points[i].Sd, 9);
            }
            lock (errors) Assert.Empty(errors);
        }
        finally { await browser.DisposeAsync(); playwright.Dispose(); }

        static EpochResultRow Row(int repeat, int epoch, double test) => new("d", "m", "sgd", repeat, epoch, 0, test, null, null, 0);
    }

    [SkippableFact]
    public async Task Once_the_report_is_written_each_comparison_shows_its_verdict_and_paired_dot_plot()
    {
        Skip.If(LivePageBrowserTests.Chromium() is null, LivePageBrowserTests.NoChromium);
        static TrialResultRow Row(string optimizer, int repeat, double test) =>
            new("fashion-mnist", "resnet18", optimizer, repeat, true, 99, test, 100, 3, null, 0);
        var report = ReportBuilder.Build(
            [Row("sgd", 1, 90), Row("sgd", 2, 91), Row("sgd", 3, 90.5), Row("sam", 1, 92), Row("sam", 2, 93)], new ReportOptions(Curves: false));
        File.WriteAllText(Path.Combine(_dir, "report.json"), JsonReport.Write(report));
        _run.Live.OnReportWritten();

        var (page, errors, browser, playwright) = await Open(_server!.Url.ToString());
        try
        {
            await page.WaitForFunctionAsync("document.querySelectorAll('#verdicts li').length === 1");
            var g = report.Groups[0];
            Assert.Equal(report.VerdictOf(g, g.Comparisons[0]), await page.TextContentAsync("#verdicts li"));
            Assert.Equal(2, await page.EvaluateAsync<int>("document.querySelectorAll('#paired svg.paired circle.pair').length"));
            Assert.EndsWith("mean +2.00 pp over 2 pair(s); no pair: 3", await page.EvaluateAsync<string>(
                "[...document.querySelectorAll('#paired svg.paired text')].at(-1).textContent"));
            lock (errors) Assert.Empty(errors);
        }
        finally { await browser.DisposeAsync(); playwright.Dispose(); }
    }

    static Task<string[]> Legend(IPage page) =>
        page.EvalOnSelectorAllAsync<string[]>(".group .legend span", "items => items.map(i => i.textContent)");

    sealed record CurveStat(int Epoch, double Mean, double Sd, int N, bool Partial);

    public async Task DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }
}
