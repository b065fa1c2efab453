using System.Text.Json;
using System.Threading.Channels;
using SamCluster.Coordinator.LiveView;
using Xunit;

namespace SamCluster.Tests.LiveView;

/// <summary>The live page's model: rows and statuses as the coordinator's events leave them, a snapshot then each change
/// for a subscriber, one message per new epoch, and the report only once it is written.</summary>
public sealed class LiveRunTests : IDisposable
{
    readonly string _reportFile = Path.Combine(Path.GetTempPath(), $"samcluster-live-report-{Guid.NewGuid():N}.json");
    readonly SyntheticRun _run;

    public LiveRunTests() => _run = new SyntheticRun(_reportFile);

    static readonly SamCluster.Messages.TrialSpec Sgd1 = SyntheticRun.Trials[0], Sam1 = SyntheticRun.Trials[1];

    static List<LiveMessage> Drain(ChannelReader<LiveMessage> reader)
    {
        var messages = new List<LiveMessage>();
        while (reader.TryRead(out var m)) messages.Add(m);
        return messages;
    }

    static JsonElement Row(LiveRun live, string id) =>
        JsonDocument.Parse(live.TrialsJson()).RootElement.EnumerateArray().Single(r => r.GetProperty("id").GetString() == id);

    [Fact]
    public void Rows_follow_the_trials_from_queued_to_running_to_completed_with_epoch_accuracy_node_and_attempts()
    {
        _run.Start();
        Assert.Equal("queued", Row(_run.Live, Sgd1.Key.Id).GetProperty("status").GetString());
        _run.Begin(Sgd1, 1, node: "gpu-7");
        _run.Epoch(Sgd1, 1, 1, testAcc: 70);
        var running = Row(_run.Live, Sgd1.Key.Id);
        Assert.Equal("running", running.GetProperty("status").GetString());
        Assert.Equal("gpu-7", running.GetProperty("node").GetString());
        Assert.Equal(1, running.GetProperty("epoch").GetInt32());
        Assert.Equal(3, running.GetProperty("epochs").GetInt32());
        Assert.Equal(70, running.GetProperty("test_acc").GetDouble());
        Assert.Equal("Fashion-MNIST · ResNet-18", running.GetProperty("group").GetString());
        Assert.Equal("logs/" + Sgd1.Key.Id, running.GetProperty("log").GetString());
        _run.Epoch(Sgd1, 1, 2);
        _run.Epoch(Sgd1, 1, 3, testAcc: 88);
        _run.Complete(Sgd1, 1);
        var done = Row(_run.Live, Sgd1.Key.Id);
        Assert.Equal("completed", done.GetProperty("status").GetString());
        Assert.Equal(88, done.GetProperty("test_acc").GetDouble());
        Assert.Equal(3.0, done.GetProperty("seconds").GetDouble());
        Assert.Equal(1, done.GetProperty("attempts").GetInt32());
    }

    [Fact]
    public void A_failed_attempt_shows_as_queued_while_a_retry_is_left_and_as_failed_with_its_reason_once_given_up()
    {
        _run.Start();
        _run.Begin(Sam1, 1);
        _run.Fail(Sam1, 1, "CUDA out of memory");
        Assert.Equal("queued", Row(_run.Live, Sam1.Key.Id).GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, Row(_run.Live, Sam1.Key.Id).GetProperty("failure").ValueKind);
        _run.Begin(Sam1, 2);
        _run.Fail(Sam1, 2, "CUDA out of memory");
        _run.GiveUp(Sam1);
        var row = Row(_run.Live, Sam1.Key.Id);
        Assert.Equal("failed", row.GetProperty("status").GetString());
        Assert.Equal("CUDA out of memory", row.GetProperty("failure").GetString());
        Assert.Equal(2, row.GetProperty("attempts").GetInt32());
    }

    [Fact]
    public void A_subscriber_gets_a_snapshot_then_one_small_message_per_change_and_nothing_twice()
    {
        _run.Start();
        _run.Begin(Sgd1, 1);
        _run.Epoch(Sgd1, 1, 1);
        var reader = _run.Live.Subscribe();
        var first = Drain(reader);
        var snapshot = Assert.Single(first);
        Assert.Equal("snapshot", snapshot.Event);
        var data = JsonDocument.Parse(snapshot.Data).RootElement;
        Assert.Equal(4, data.GetProperty("trials").GetArrayLength());
        var curve = Assert.Single(data.GetProperty("epochs").EnumerateArray());
        Assert.Equal(1, curve.GetProperty("epochs").GetArrayLength());

        _run.Epoch(Sgd1, 1, 2, testAcc: 83.5);
        var after = Drain(reader);
        Assert.Equal(["trial", "epoch"], after.Select(m => m.Event));
        var epoch = JsonDocument.Parse(after[1].Data).RootElement;
        Assert.Equal(Sgd1.Key.Id, epoch.GetProperty("trial").GetString());
        Assert.Equal(1, epoch.GetProperty("attempt").GetInt32());
        Assert.Equal(2, epoch.GetProperty("point").GetProperty("epoch").GetInt32());
        Assert.Equal(83.5, epoch.GetProperty("point").GetProperty("test_acc").GetDouble());
        Assert.Equal(0.001, epoch.GetProperty("point").GetProperty("lr").GetDouble());
        // An epoch is a message of its own, never the whole table.
        Assert.True(after[1].Data.Length < 400, after[1].Data);
    }

    [Fact]
    public void A_new_attempt_replaces_the_trials_curve_in_one_message()
    {
        _run.Start();
        _run.Begin(Sgd1, 1);
        _run.Epoch(Sgd1, 1, 1);
        _run.Fail(Sgd1, 1, "killed");
        var reader = _run.Live.Subscribe();
        Drain(reader);
        _run.Begin(Sgd1, 2);
        var epochs = Drain(reader).Where(m => m.Event == "epochs").Select(m => JsonDocument.Parse(m.Data).RootElement).ToList();
        Assert.NotEmpty(epochs);
        Assert.Equal(2, epochs[^1].GetProperty("attempt").GetInt32());
        Assert.Equal(0, epochs[^1].GetProperty("epochs").GetArrayLength());
    }

    [Fact]
    public void The_report_is_served_only_once_written_even_if_an_older_file_is_there()
    {
        File.WriteAllText(_reportFile, "[{\"stale\": true}]");
        _run.Start();
        Assert.Null(_run.Live.ReportJson());
        var reader = _run.Live.Subscribe();
        Drain(reader);
        File.WriteAllText(_reportFile, "[]\n");
        _run.Live.OnReportWritten();
        Assert.Equal("[]\n", _run.Live.ReportJson());
        var messages = Drain(reader);
        Assert.Contains(messages, m => m.Event == "report");
        Assert.True(JsonDocument.Parse(messages.Single(m => m.Event == "progress").Data).RootElement.GetProperty("report_ready").GetBoolean());
    }

    [Fact]
    public void A_subscriber_that_falls_too_far_behind_is_dropped_and_can_subscribe_again_for_a_fresh_snapshot()
    {
        _run.Start();
        var stalled = _run.Live.Subscribe();
        _run.Begin(Sgd1, 1);
        for (var i = 0; i < LiveRun.SubscriberBacklog; i++) _run.Epoch(Sgd1, 1, 1 + i % 3);
        Assert.Equal(0, _run.Live.Subscribers);
        var drained = Drain(stalled);
        Assert.True(stalled.Completion.IsCompleted);
        Assert.Equal(LiveRun.SubscriberBacklog, drained.Count);
        var again = _run.Live.Subscribe();
        Assert.Equal("snapshot", Assert.Single(Drain(again)).Event);
        _run.Live.Unsubscribe(again);
        Assert.Equal(0, _run.Live.Subscribers);
    }

    [Fact]
    public void The_snapshot_orders_optimizers_as_the_report_does_so_each_keeps_its_chart_colour()
    {
        var live = new LiveRun("t", [SyntheticRun.Trials[1], SyntheticRun.Trials[0]], _reportFile);   // SAM listed first
        var snapshot = JsonDocument.Parse(Drain(live.Subscribe()).Single().Data).RootElement;
        Assert.Equal(["sgd", "sam"], snapshot.GetProperty("optimizers").EnumerateArray().Select(o => o.GetString()));
    }

    [Fact]
    public void Epochs_of_an_unknown_trial_are_null()
    {
        Assert.Null(_run.Live.EpochsJson("fashion-mnist/resnet18/adam/1"));
        Assert.NotNull(_run.Live.EpochsJson(Sgd1.Key.Id));
    }

    public void Dispose() => File.Delete(_reportFile);
}
