using Akka.Actor;
using Akka.TestKit.Xunit2;
using SamCluster.GpuNode;
using SamCluster.Messages;
using Xunit;
using static SamCluster.Tests.Cluster.ClusterFixtures;

namespace SamCluster.Tests.Cluster;

/// <summary>The worker's side of work pulling, with a scripted executor in place of TorchSharp.</summary>
public sealed class TrialWorkerTests() : TestKit(Hocon)
{
    sealed class ScriptedExecutor(Func<TrialSpec, Action<EpochMetrics>, TrialSummary> run) : ITrialExecutor
    {
        public List<string> Devices { get; } = new();
        public TrialSummary Run(TrialSpec trial, string device, Action<EpochMetrics> onEpoch, CancellationToken cancel)
        {
            lock (Devices) Devices.Add(device);
            return run(trial, onEpoch);
        }
    }

    static TrialSummary TwoEpochs(TrialSpec _, Action<EpochMetrics> onEpoch)
    {
        onEpoch(Epoch(1));
        onEpoch(Epoch(2));
        return TrialSummary.From([Epoch(1), Epoch(2)]);
    }

    [Fact]
    public void Streams_epochs_reports_the_outcome_until_acknowledged_then_asks_again()
    {
        var coordinator = CreateTestProbe();
        var trials = CreateTestProbe();
        var executor = new ScriptedExecutor(TwoEpochs);
        var worker = Sys.ActorOf(TrialWorker.Props(new TrialWorker.Slot("w0", "n1", "cuda:1"), coordinator.Ref, trials.Ref, executor,
            TimeSpan.FromMilliseconds(300)));

        coordinator.ExpectMsg<WorkerReady>(r => r.Device == "cuda:1");
        var trial = Trial("sam", 1);
        worker.Tell(new AssignTrial(trial, 3), coordinator.Ref);

        Assert.Equal(1, trials.ExpectMsg<EpochCompleted>().Metrics.Epoch);
        Assert.Equal(2, trials.ExpectMsg<EpochCompleted>().Metrics.Epoch);
        var done = trials.ExpectMsg<TrialCompleted>();
        Assert.Equal((trial.Key.Id, 3, 2), (done.TrialId, done.Attempt, done.Epochs.Count));
        // Unacknowledged: it is sent again, and the worker does not ask for work meanwhile.
        trials.ExpectMsg<TrialCompleted>(TimeSpan.FromSeconds(2));
        coordinator.ExpectNoMsg(TimeSpan.FromMilliseconds(100));

        worker.Tell(new OutcomeRecorded(trial.Key.Id, 3), trials.Ref);
        coordinator.ExpectMsg<WorkerReady>();
        Assert.Equal(["cuda:1"], executor.Devices); // trained on its own device, nowhere else
    }

    [Fact]
    public void A_training_exception_becomes_a_failure_with_its_reason()
    {
        var coordinator = CreateTestProbe();
        var trials = CreateTestProbe();
        var executor = new ScriptedExecutor((_, _) => throw new InvalidOperationException("loss became NaN at epoch 2, step 5"));
        var worker = Sys.ActorOf(TrialWorker.Props(new TrialWorker.Slot("w0", "n1", "cpu"), coordinator.Ref, trials.Ref, executor,
            TimeSpan.FromSeconds(5)));
        coordinator.ExpectMsg<WorkerReady>();
        worker.Tell(new AssignTrial(Trial("sgd", 2), 1));
        var failed = trials.ExpectMsg<TrialFailed>();
        Assert.Contains("loss became NaN at epoch 2, step 5", failed.Reason);
        worker.Tell(new OutcomeRecorded(failed.TrialId, 1));
        coordinator.ExpectMsg<WorkerReady>();
    }
}
