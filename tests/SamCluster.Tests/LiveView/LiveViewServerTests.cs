using System.Net;
using System.Text.Json;
using SamCluster.Coordinator.LiveView;
using Xunit;

namespace SamCluster.Tests.LiveView;

/// <summary>The live page's HTTP side on a real Kestrel socket: the JSON API, its 404s, trial logs (and nothing else of the
/// file system), and the event stream.</summary>
public sealed class LiveViewServerTests : IAsyncLifetime
{
    readonly string _dir = Directory.CreateTempSubdirectory("samcluster-live-").FullName;
    readonly SyntheticRun _run;
    readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(20) };
    LiveViewServer? _server;

    public LiveViewServerTests() => _run = new SyntheticRun(Path.Combine(_dir, "report.json"));

    public async Task InitializeAsync()
    {
        _server = await LiveViewServer.StartAsync(_run.Live, IPAddress.Loopback, 0, _dir, id => Path.Combine(_dir, "logs", id + ".log"),
            Serilog.Core.Logger.None, CancellationToken.None);
        _http.BaseAddress = _server.Url;
        _run.Start();
    }

    static readonly SamCluster.Messages.TrialSpec Sgd1 = SyntheticRun.Trials[0];

    [Fact]
    public async Task Api_trials_lists_every_trial_of_the_grid()
    {
        var trials = JsonDocument.Parse(await _http.GetStringAsync("api/trials")).RootElement;
        Assert.Equal(SyntheticRun.Trials.Select(t => t.Key.Id), trials.EnumerateArray().Select(t => t.GetProperty("id").GetString()));
    }

    [Theory]
    [InlineData("api/trials/fashion-mnist/resnet18/sgd/1/epochs")]
    [InlineData("api/trials/fashion-mnist%2Fresnet18%2Fsgd%2F1/epochs")]
    public async Task Api_epochs_takes_the_trial_id_raw_or_percent_encoded(string path)
    {
        _run.Begin(Sgd1, 1);
        _run.Epoch(Sgd1, 1, 1, testAcc: 61);
        var epochs = JsonDocument.Parse(await _http.GetStringAsync(path)).RootElement;
        Assert.Equal(Sgd1.Key.Id, epochs.GetProperty("trial").GetString());
        Assert.Equal(61, epochs.GetProperty("epochs")[0].GetProperty("test_acc").GetDouble());
    }

    [Theory]
    [InlineData("api/trials/fashion-mnist/resnet18/adam/1/epochs")]
    [InlineData("api/trials/fashion-mnist/resnet18/sgd/1")]
    [InlineData("api/report")]
    [InlineData("logs/fashion-mnist/resnet18/sgd/1")]            // a trial without a log yet
    [InlineData("logs/..%2F..%2F..%2Fetc%2Fpasswd")]
    [InlineData("logs/%2Fetc%2Fpasswd")]
    public async Task Unknown_or_not_yet_ready_resources_are_404_with_a_reason(string path)
    {
        var response = await _http.GetAsync(path);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.False(string.IsNullOrEmpty(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString()));
    }

    [Fact]
    public async Task The_report_is_404_until_written_then_served()
    {
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync("api/report")).StatusCode);
        File.WriteAllText(Path.Combine(_dir, "report.json"), "[{\"dataset\": \"fashion-mnist\"}]\n");
        _run.Live.OnReportWritten();
        var report = JsonDocument.Parse(await _http.GetStringAsync("api/report")).RootElement;
        Assert.Equal("fashion-mnist", report[0].GetProperty("dataset").GetString());
    }

    [Fact]
    public async Task A_trials_log_is_served_as_text()
    {
        var log = Path.Combine(_dir, "logs", Sgd1.Key.Id + ".log");
        Directory.CreateDirectory(Path.GetDirectoryName(log)!);
        File.WriteAllText(log, "epoch 1/3 train_acc 85.00%\n");
        var response = await _http.GetAsync("logs/" + Sgd1.Key.Id);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("epoch 1/3 train_acc 85.00%\n", await response.Content.ReadAsStringAsync());
    }

    /// <summary>A file outside the run folder, holding what must never be served.</summary>
    string Outside(string name)
    {
        var outside = Path.Combine(Path.GetDirectoryName(_dir)!, Path.GetFileName(_dir) + "-outside", name);
        Directory.CreateDirectory(Path.GetDirectoryName(outside)!);
        File.WriteAllText(outside, "private: not the run's\n");
        return outside;
    }

    async Task AssertNotServed(string path)
    {
        var response = await _http.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.DoesNotContain("private", body);
        Assert.False(string.IsNullOrEmpty(JsonDocument.Parse(body).RootElement.GetProperty("error").GetString()));
    }

    [Fact]
    public async Task A_trials_log_that_is_a_symbolic_link_is_not_served_wherever_it_points()
    {
        var log = Path.Combine(_dir, "logs", Sgd1.Key.Id + ".log");
        Directory.CreateDirectory(Path.GetDirectoryName(log)!);
        File.CreateSymbolicLink(log, Outside("secret.txt"));
        await AssertNotServed("logs/" + Sgd1.Key.Id);

        // Not even to a file of the run itself: a link is not the run's log.
        File.Delete(log);
        File.WriteAllText(Path.Combine(_dir, "private.txt"), "private: the run's, but not a log\n");
        File.CreateSymbolicLink(log, Path.Combine(_dir, "private.txt"));
        await AssertNotServed("logs/" + Sgd1.Key.Id);
    }

    [Fact]
    public async Task A_trials_log_that_is_a_hard_link_is_not_served()
    {
        // ln OUTSIDE logs/…/1.log (the same file system): a regular file inside logs/, no symbolic link anywhere.
        var log = Path.Combine(_dir, "logs", Sgd1.Key.Id + ".log");
        Directory.CreateDirectory(Path.GetDirectoryName(log)!);
        var outside = Outside("secret.txt");
        using (var ln = System.Diagnostics.Process.Start("ln", [outside, log])) ln.WaitForExit();
        Assert.True(File.Exists(log) && new FileInfo(log).LinkTarget is null, "ln should have made a hard link");
        await AssertNotServed("logs/" + Sgd1.Key.Id);

        // The run's own log, once it has that one name again, is served.
        File.Delete(outside);
        File.WriteAllText(log, "epoch 1/3\n");
        Assert.Equal("epoch 1/3\n", await _http.GetStringAsync("logs/" + Sgd1.Key.Id));
    }

    [Fact]
    public async Task A_log_under_a_symbolically_linked_folder_is_not_served()
    {
        // logs/fashion-mnist -> a folder outside that holds resnet18/sgd/1.log.
        var outside = Outside(Path.Combine("fashion-mnist", "resnet18", "sgd", "1.log"));
        Directory.CreateDirectory(Path.Combine(_dir, "logs"));
        Directory.CreateSymbolicLink(Path.Combine(_dir, "logs", "fashion-mnist"), Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(outside)))!);
        Assert.True(File.Exists(Path.Combine(_dir, "logs", Sgd1.Key.Id + ".log")), "the link should reach the outside file");
        await AssertNotServed("logs/" + Sgd1.Key.Id);
    }

    [Fact]
    public async Task A_log_that_is_a_pipe_is_refused_at_once_not_waited_on()
    {
        var log = Path.Combine(_dir, "logs", Sgd1.Key.Id + ".log");
        Directory.CreateDirectory(Path.GetDirectoryName(log)!);
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", [log])) mkfifo.WaitForExit();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await AssertNotServed("logs/" + Sgd1.Key.Id);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed.TotalSeconds:F1} s");
    }

    [Fact]
    public async Task A_report_replaced_by_a_symbolic_link_is_not_served()
    {
        File.CreateSymbolicLink(Path.Combine(_dir, "report.json"), Outside("report.json"));
        _run.Live.OnReportWritten();
        await AssertNotServed("api/report");
    }

    [Fact]
    public async Task The_page_and_its_assets_come_from_the_coordinator_itself_with_no_external_url()
    {
        foreach (var asset in new[] { "", "live.js", "live.css" })
        {
            var text = await _http.GetStringAsync(asset);
            Assert.False(string.IsNullOrWhiteSpace(text));
            Assert.DoesNotMatch(@"(src|href)\s*=\s*[""']?(https?:)?//", text);
            Assert.DoesNotContain("@import", text);
        }
    }

    [Fact]
    public async Task The_event_stream_sends_a_snapshot_then_each_epoch_as_it_arrives()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var response = await _http.GetAsync("api/events", HttpCompletionOption.ResponseHeadersRead, cancel.Token);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancel.Token));
        Assert.Equal("snapshot", await NextEvent(reader, cancel.Token));
        _run.Begin(Sgd1, 1);
        _run.Epoch(Sgd1, 1, 1);
        string? name;
        do name = await NextEvent(reader, cancel.Token);
        while (name != "epoch");
    }

    /// <summary>The name of the next event on the stream (comments and the retry line skipped).</summary>
    static async Task<string> NextEvent(StreamReader reader, CancellationToken cancel)
    {
        while (await reader.ReadLineAsync(cancel) is { } line)
            if (line.StartsWith("event: ", StringComparison.Ordinal)) return line["event: ".Length..];
        throw new EndOfStreamException("the event stream ended");
    }

    public async Task DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
        _http.Dispose();
        Directory.Delete(_dir, recursive: true);
        if (Directory.Exists(_dir + "-outside")) Directory.Delete(_dir + "-outside", recursive: true);
    }
}
