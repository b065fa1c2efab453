using System.Net;
using System.Text.Json;
using SamCluster.Coordinator.Serving;
using Xunit;

namespace SamCluster.Tests.Serving;

/// <summary>`serve`'s HTTP side on a real Kestrel socket: the index, every run's endpoints under /runs/{name}/, a running
/// run followed through its files, and nothing served from outside a run's own files.</summary>
public sealed class RunsServerTests : IAsyncLifetime
{
    readonly RunFolders _runs = new();
    readonly HttpClient _http = new(new HttpClientHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(20) };
    RunsServer? _server;
    SamCluster.RunStore.RunFolder? _running;

    public async Task InitializeAsync()
    {
        _runs.Finished("quick");
        _running = _runs.Running("2026/live");
        _server = await RunsServer.StartAsync([_runs.Top], IPAddress.Loopback, 0, Serilog.Core.Logger.None, CancellationToken.None);
        _http.BaseAddress = _server.Url;
    }

    [Fact]
    public async Task Api_runs_lists_every_run_with_its_state()
    {
        var runs = JsonDocument.Parse(await _http.GetStringAsync("api/runs")).RootElement;
        Assert.Equal([("2026/live", "running"), ("quick", "finished")],
            runs.EnumerateArray().Select(r => (r.GetProperty("name").GetString(), r.GetProperty("state").GetString())));
        Assert.Equal(200, (int)(await _http.GetAsync("")).StatusCode);
    }

    [Fact]
    public async Task A_finished_runs_endpoints_are_under_its_name()
    {
        var trials = JsonDocument.Parse(await _http.GetStringAsync("runs/quick/api/trials")).RootElement;
        Assert.Equal(RunFolders.Trials(3).Select(t => t.Key.Id), trials.EnumerateArray().Select(t => t.GetProperty("id").GetString()));
        Assert.All(trials.EnumerateArray(), t => Assert.Equal("completed", t.GetProperty("status").GetString()));
        var epochs = JsonDocument.Parse(await _http.GetStringAsync("runs/quick/api/trials/fashion-mnist/resnet18/sam/1/epochs")).RootElement;
        Assert.Equal([1, 2], epochs.GetProperty("epochs").EnumerateArray().Select(e => e.GetProperty("epoch").GetInt32()));
        Assert.Equal(82.5, epochs.GetProperty("epochs")[1].GetProperty("test_acc").GetDouble());
        var report = JsonDocument.Parse(await _http.GetStringAsync("runs/quick/api/report")).RootElement;
        Assert.Equal("fashion-mnist", report[0].GetProperty("dataset").GetString());
        Assert.Equal("trial fashion-mnist/resnet18/sgd/2 finished\n", await _http.GetStringAsync("runs/quick/logs/fashion-mnist/resnet18/sgd/2"));
        var page = await _http.GetStringAsync("runs/quick/");
        Assert.Contains("live.js", page);
        Assert.Contains("new EventSource", await _http.GetStringAsync("runs/quick/live.js"));
        // The page's links are relative: its address without the slash is sent to the one with it.
        var bare = await _http.GetAsync("runs/quick");
        Assert.Equal(HttpStatusCode.Redirect, bare.StatusCode);
        Assert.Equal("/runs/quick/", bare.Headers.Location!.ToString());
    }

    [Fact]
    public async Task The_event_stream_of_a_run_starts_with_its_snapshot()
    {
        using var stream = await _http.GetStreamAsync("runs/quick/api/events");
        using var reader = new StreamReader(stream);
        string? line;
        while ((line = await reader.ReadLineAsync()) is not null && !line.StartsWith("data: ", StringComparison.Ordinal)) { }
        var snapshot = JsonDocument.Parse(line!["data: ".Length..]).RootElement;
        Assert.Equal("finished", snapshot.GetProperty("progress").GetProperty("served").GetString());
        Assert.Equal(6, snapshot.GetProperty("trials").GetArrayLength());
    }

    [Fact]
    public async Task A_running_run_is_followed_through_its_files()
    {
        var trial = RunFolders.Trials(2)[0];
        var path = $"runs/2026/live/api/trials/{trial.Key.Id}/epochs";
        Assert.Single(JsonDocument.Parse(await _http.GetStringAsync(path)).RootElement.GetProperty("epochs").EnumerateArray());
        RunFolders.AppendEpoch(_running!, trial, 2, testAcc: 88);
        await Eventually(async () => JsonDocument.Parse(await _http.GetStringAsync(path)).RootElement.GetProperty("epochs").GetArrayLength() == 2);
        var row = JsonDocument.Parse(await _http.GetStringAsync("runs/2026/live/api/trials")).RootElement[0];
        Assert.Equal(("running", 2), (row.GetProperty("status").GetString(), row.GetProperty("epoch").GetInt32()));
    }

    [Theory]
    [InlineData("runs/nope/api/trials")]
    [InlineData("runs/quick/api/nothing")]
    [InlineData("runs/quick/api/trials/fashion-mnist/resnet18/adam/1/epochs")]
    [InlineData("runs/quick/logs/..%2F..%2Frun.json")]
    [InlineData("runs/quick/logs/%2Fetc%2Fpasswd")]
    [InlineData("runs/quick/%2E%2E%2F%2E%2E%2Frun.json")]
    [InlineData("runs/2026/live/api/report")]                  // not written yet
    public async Task Unknown_or_outside_resources_are_404_with_a_reason(string path)
    {
        var response = await _http.GetAsync(path);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.False(string.IsNullOrEmpty(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString()));
    }

    [Fact]
    public async Task A_trials_log_that_is_a_symbolic_link_or_a_hard_link_is_refused()
    {
        var logs = Path.Combine(_runs.Top, "quick", "logs", "fashion-mnist", "resnet18", "sgd");
        var secret = Path.Combine(_runs.Top, "secret.txt");
        File.WriteAllText(secret, "not the run's\n");
        File.Delete(Path.Combine(logs, "1.log"));
        File.CreateSymbolicLink(Path.Combine(logs, "1.log"), secret);
        var linked = await _http.GetAsync("runs/quick/logs/fashion-mnist/resnet18/sgd/1");
        Assert.Equal(HttpStatusCode.NotFound, linked.StatusCode);
        Assert.Contains("symbolic link", await linked.Content.ReadAsStringAsync());
        File.Delete(Path.Combine(logs, "2.log"));
        Assert.Equal(0, Link(secret, Path.Combine(logs, "2.log")));
        var hard = await _http.GetAsync("runs/quick/logs/fashion-mnist/resnet18/sgd/2");
        Assert.Equal(HttpStatusCode.NotFound, hard.StatusCode);
        Assert.Contains("hard links", await hard.Content.ReadAsStringAsync());
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "link", SetLastError = true)]
    static extern int Link(string existing, string created);

    static async Task Eventually(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "not within 20 s");
            await Task.Delay(100);
        }
    }

    public async Task DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
        _http.Dispose();
        _runs.Dispose();
    }
}
