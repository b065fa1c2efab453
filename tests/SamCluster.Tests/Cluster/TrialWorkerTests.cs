using Akka.Actor;
using Akka.TestKit.Xunit2;
using SamCluster.GpuNode;
using SamCluster.Messages;
using SamCluster.Training;
using Xunit;
using static SamCluster.Tests.Cluster.ClusterFixtures;

namespace SamCluster.Tests.Cluster;

/// <summary>The worker's side of the protocol, with a scripted executor in place of TorchSharp.</summary>
public sealed class TrialWorkerTests() : TestKit(Hocon)
{
    delegate TrialResult Script(AssignTrial a, Action<ResumeReport> onResume, Action<EpochMetrics, CheckpointRef?> onEpoch, CancellationToken cancel);

    sealed class ScriptedExecutor(Script run) : ITrialExecutor
    {
        public List<string> Devices { get; } = new();
        public System.Collections.Concurrent.ConcurrentQueue<CheckpointRef> Recorded { get; } = new();

        public TrialResult Run(AssignTrial assignment, string device, Action<ResumeReport> onResume,
            Action<EpochMetrics, CheckpointRef?> onEpoch, CancellationToken cancel)
        {
            lock (Devices) Devices.Add(device);
            return run(assignment, onResume, onEpoch, cancel);
        }

        public void CheckpointRecorded(AssignTrial assignment, CheckpointRef checkpoint) => Recorded.Enqueue(checkpoint);
    }

    static CheckpointRef Checkpoint(AssignTrial a, int epoch) => new(a.Attempt, epoch, $"{a.Trial.Key.Id}/attempt-{a.Attempt}-epoch-{epoch:D4}.ckpt", new string('c', 64));

    static TrialResult TwoEpochs(AssignTrial a, Action<ResumeReport> onResume, Action<EpochMetrics, CheckpointRef?> onEpoch, CancellationToken _)
    {
        onResume(new ResumeReport(null, 0, ""));
        onEpoch(Epoch(1), Checkpoint(a, 1));
        onEpoch(Epoch(2), Checkpoint(a, 2));
        return new TrialResult(TrialSummary.From([Epoch(1), Epoch(2)]), null, new ResumeReport(null, 0, ""));
    }

    static AssignTrial Assignment(string optimizer, int repeat, int attempt) => new(Trial(optimizer, repeat), attempt, [], 1, "/tmp/checkpoints");

    (IActorRef Worker, Akka.TestKit.TestProbe Coordinator, Akka.TestKit.TestProbe Trials) Start(Script script, string device = "cpu", int resendMs = 300)
    {
        var coordinator = CreateTestProbe();
        var trials = CreateTestProbe();
        var worker = Sys.ActorOf(TrialWorker.Props(new TrialWorker.Slot("w0", "n1", device), coordinator.Ref, trials.Ref,
            new ScriptedExecutor(script), TimeSpan.FromMilliseconds(resendMs)));
        coordinator.ExpectMsg<WorkerReady>(r => r.Device == device);
        return (worker, coordinator, trials);
    }

    [Fact]
    public void Accepts_streams_numbered_reports_resends_until_acknowledged_then_asks_again()
    {
        var executor = new ScriptedExecutor(TwoEpochs);
        var coordinator = CreateTestProbe();
        var trials = CreateTestProbe();
        var worker = Sys.ActorOf(TrialWorker.Props(new TrialWorker.Slot("w0", "n1", "cuda:1"), coordinator.Ref, trials.Ref, executor,
            TimeSpan.FromMilliseconds(300)));
        coordinator.ExpectMsg<WorkerReady>();
        var a = Assignment("sam", 1, 3);
        worker.Tell(a, coordinator.Ref);

        Assert.Equal(1, trials.ExpectMsg<AcceptAttempt>().Seq);
        Assert.Equal(2, trials.ExpectMsg<ReportResume>().Seq);
        var epoch1 = trials.ExpectMsg<ReportEpoch>();
        Assert.Equal((3, 1, 3), (epoch1.Seq, epoch1.Metrics.Epoch, epoch1.Checkpoint!.Attempt));
        Assert.Equal(2, trials.ExpectMsg<ReportEpoch>().Metrics.Epoch);
        var done = trials.ExpectMsg<ReportCompleted>();
        Assert.Equal((a.Trial.Key.Id, 3, 5, 2), (done.TrialId, done.Attempt, done.Seq, done.Summary.Epochs));

        // Nothing acknowledged: everything is sent again, in order, and the worker does not ask for work meanwhile.
        Assert.Equal([1, 2, 3, 4, 5], trials.ReceiveN(5, TimeSpan.FromSeconds(2)).Cast<IAttemptReport>().Select(r => r.Seq));
        // Older checkpoints may go only once the journal holds a newer one: not before its epoch is acknowledged.
        Assert.Empty(executor.Recorded);
        worker.Tell(new ReportAck(a.Trial.Key.Id, 3, 3));
        AwaitAssert(() => Assert.Equal([1], executor.Recorded.Select(c => c.Epoch)));
        worker.Tell(new ReportAck(a.Trial.Key.Id, 3, 4));
        AwaitAssert(() => Assert.Equal([1, 2], executor.Recorded.Select(c => c.Epoch)));
        // Resend rounds from before the acks may still be queued (a loaded machine fits several into the waits above):
        // drain them; every round from here on resends 5 alone.
        trials.ReceiveWhile(TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(100), message => message);
        Assert.Equal(5, trials.ExpectMsg<IAttemptReport>(TimeSpan.FromSeconds(2)).Seq);
        Assert.Equal(5, trials.ExpectMsg<IAttemptReport>(TimeSpan.FromSeconds(2)).Seq);

        worker.Tell(new ReportAck(a.Trial.Key.Id, 3, 5));
        coordinator.FishForMessage<WorkerReady>(_ => true, TimeSpan.FromSeconds(2));
        Assert.Equal(["cuda:1"], executor.Devices); // trained on its own device, nowhere else
    }

    [Fact]
    public void A_training_exception_becomes_a_failure_with_its_reason()
    {
        var (worker, coordinator, trials) = Start((_, _, _, _) => throw new InvalidOperationException("loss became NaN at epoch 2, step 5"), resendMs: 5000);
        worker.Tell(Assignment("sgd", 2, 1));
        trials.ExpectMsg<AcceptAttempt>();
        trials.ExpectMsg<ReportResume>(); // said for it: the outcome follows the resume point
        var failed = trials.ExpectMsg<ReportFailed>();
        Assert.Contains("loss became NaN at epoch 2, step 5", failed.Reason);
        worker.Tell(new ReportAck(failed.TrialId, 1, failed.Seq));
        coordinator.ExpectMsg<WorkerReady>();
    }

    [Fact]
    public void A_checkpoint_that_does_not_fit_is_reported_with_the_file_not_as_the_trials_failure()
    {
        var path = "/runs/x/checkpoints/fashion-mnist/resnet18/sgd/2/attempt-1-epoch-0002.ckpt";
        var (worker, _, trials) = Start((_, onResume, onEpoch, _) =>
        {
            onResume(new ResumeReport(null, 0, ""));
            throw new DiskFullException(path, new IOException("No space left on device", 28));
        }, resendMs: 5000);
        worker.Tell(Assignment("sgd", 2, 1));
        trials.ExpectMsg<AcceptAttempt>();
        trials.ExpectMsg<ReportResume>();
        var stopped = trials.ExpectMsg<ReportFailed>();
        Assert.Equal(path, stopped.NoSpaceAt);
        Assert.Contains("no space left on device for attempt-1-epoch-0002.ckpt", stopped.Reason);
    }

    [Fact]
    public void A_busy_worker_refuses_a_second_assignment_at_once()
    {
        var release = new ManualResetEventSlim();
        var (worker, _, trials) = Start((_, _, _, cancel) =>
        {
            release.Wait(cancel);
            throw new OperationCanceledException();
        }, resendMs: 5000);
        worker.Tell(Assignment("sgd", 1, 1));
        trials.ExpectMsg<AcceptAttempt>();
        var second = Assignment("sam", 1, 4);
        worker.Tell(second);
        var refused = trials.ExpectMsg<RejectAttempt>();
        Assert.Equal((second.Trial.Key.Id, 4, 1), (refused.TrialId, refused.Attempt, refused.Seq));
        Assert.Contains("busy with " + Trial("sgd", 1).Key.Id, refused.Reason);
        // The same hand-out again is no second assignment.
        worker.Tell(Assignment("sgd", 1, 1));
        trials.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        Sys.Stop(worker);
    }

    [Fact]
    public async Task A_superseded_attempt_is_cancelled_and_never_reported_on_again()
    {
        var cancelled = new TaskCompletionSource();
        var (worker, coordinator, trials) = Start((a, onResume, onEpoch, cancel) =>
        {
            onResume(new ResumeReport(null, 0, ""));
            onEpoch(Epoch(1), null);
            try { Task.Delay(Timeout.Infinite, cancel).Wait(); }
            catch (AggregateException) { cancelled.SetResult(); }
            cancel.ThrowIfCancellationRequested();
            return null!;
        }, resendMs: 300);
        var a = Assignment("sgd", 1, 2);
        worker.Tell(a);
        trials.ExpectMsg<AcceptAttempt>();
        trials.ExpectMsg<ReportResume>();
        trials.ExpectMsg<ReportEpoch>();

        worker.Tell(new AttemptSuperseded(a.Trial.Key.Id, 2, "its lease expired"));
        Assert.True(await Task.WhenAny(cancelled.Task, Task.Delay(TimeSpan.FromSeconds(5))) == cancelled.Task, "training was not cancelled");
        coordinator.FishForMessage<WorkerReady>(_ => true, TimeSpan.FromSeconds(3));
        // No resends of the superseded attempt's reports.
        trials.ExpectNoMsg(TimeSpan.FromMilliseconds(800));
    }
}
