using Akka.Actor;
using Akka.TestKit.Xunit2;
using SamCluster.GpuNode;
using SamCluster.Messages;
using SamCluster.Training;
using Xunit;
using static SamCluster.Tests.Cluster.ClusterFixtures;

namespace SamCluster.Tests.Cluster;

/// <summary>A worker given a pack: one attempt per member, each reported, acknowledged, renewed and superseded on its own;
/// a fake executor stands in for the fused model.</summary>
public sealed class PackedWorkerTests() : TestKit(Hocon)
{
    /// <summary>Every member resumes at 0 and reports epoch 1; then member 0 completes, member 1's loss is NaN, and
    /// member 2 waits for its own cancellation (its attempt superseded) and ends cancelled.</summary>
    sealed class PackExecutor : ITrialExecutor
    {
        public List<int> PackSizes { get; } = new();
        public TaskCompletionSource MemberCancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TrialResult Run(AssignTrial assignment, string device, Action<ResumeReport> onResume,
            Action<EpochMetrics, CheckpointRef?> onEpoch, CancellationToken cancel) =>
            throw new InvalidOperationException("a pack is run as a pack");

        public IReadOnlyList<PackMemberOutcome> RunPack(IReadOnlyList<PackAssignment> members, string device, CancellationToken cancel)
        {
            lock (PackSizes) PackSizes.Add(members.Count);
            foreach (var m in members)
            {
                m.OnResume(new ResumeReport(null, 0, ""));
                m.OnEpoch(Epoch(1), null);
            }
            // Until the test supersedes member 3: on a loaded machine (the whole suite) that came after more than 20 s.
            members[2].Cancel.WaitHandle.WaitOne(TimeSpan.FromMinutes(3));
            if (members[2].Cancel.IsCancellationRequested) MemberCancelled.SetResult();
            return
            [
                new PackMemberOutcome(new TrialResult(TrialSummary.From([Epoch(1)]), null, new ResumeReport(null, 0, "")), null),
                new PackMemberOutcome(null, new TrialFailedException("loss became NaN at epoch 2, step 3")),
                new PackMemberOutcome(null, new OperationCanceledException(members[2].Cancel)),
            ];
        }

        public void CheckpointRecorded(AssignTrial assignment, CheckpointRef checkpoint) { }
    }

    static AssignTrial Assignment(int repeat, int attempt) => new(Trial("sgd", repeat, epochs: 1), attempt, [], 1, "/tmp/checkpoints");

    [Fact]
    public async Task Each_member_is_its_own_attempt_one_fails_one_is_superseded_and_the_worker_is_idle_when_all_are_acknowledged()
    {
        var executor = new PackExecutor();
        var coordinator = CreateTestProbe();
        var trials = CreateTestProbe();
        var worker = Sys.ActorOf(TrialWorker.Props(new TrialWorker.Slot("w0", "n1", "cpu"), coordinator.Ref, trials.Ref, executor,
            TimeSpan.FromMilliseconds(400), pack: 3));
        Assert.Equal(3, coordinator.ExpectMsg<WorkerReady>().Pack);   // it says what it takes
        AssignTrial[] members = [Assignment(1, 4), Assignment(2, 1), Assignment(3, 2)];
        var ids = members.Select(m => m.Trial.Key.Id).ToArray();
        worker.Tell(new AssignPack(members));

        // Each member's reports are numbered on their own: accept 1, resume 2, epoch 3.
        var early = new List<IAttemptReport>();
        while (early.Count < 9)   // resends of what is not acknowledged may come between: each report once
        {
            var r = trials.ExpectMsg<IAttemptReport>(TimeSpan.FromSeconds(5));
            if (!early.Any(e => e.TrialId == r.TrialId && e.Seq == r.Seq)) early.Add(r);
        }
        foreach (var (id, attempt) in ids.Zip(members.Select(m => m.Attempt)))
        {
            var own = early.Where(r => r.TrialId == id).OrderBy(r => r.Seq).ToList();
            Assert.Equal([1, 2, 3], own.Select(r => r.Seq));
            Assert.All(own, r => Assert.Equal(attempt, r.Attempt));
            Assert.Equal([typeof(AcceptAttempt), typeof(ReportResume), typeof(ReportEpoch)], own.Select(r => r.GetType()));
        }
        // While it trains, every member's lease is renewed on its own.
        var renewed = coordinator.ReceiveWhile(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2), m => m).OfType<RenewLease>().Select(r => r.TrialId).ToHashSet();
        Assert.Equal(ids.ToHashSet(), renewed);
        // A second hand-out while the pack trains is refused, member by member.
        var other = Assignment(4, 1);
        worker.Tell(new AssignPack([other]));
        trials.FishForMessage<RejectAttempt>(r => r.TrialId == other.Trial.Key.Id, TimeSpan.FromSeconds(3));

        // Member 3 superseded: it alone leaves the pack (its own token), the others end as they end.
        worker.Tell(new AttemptSuperseded(ids[2], 2, "its lease expired"));
        // Within minutes, not seconds: in a whole suite run this test host's thread pool, which runs the worker actor,
        // was once busy for longer than 10 s (the test's continuation itself came 2 minutes late), and no bound on the
        // time is what this test asserts.
        Assert.True(await Task.WhenAny(executor.MemberCancelled.Task, Task.Delay(TimeSpan.FromMinutes(2))) == executor.MemberCancelled.Task,
            "the superseded member was not cancelled within 2 minutes");

        var completed = trials.FishForMessage<ReportCompleted>(_ => true, TimeSpan.FromSeconds(5));
        Assert.Equal((ids[0], 4, 4), (completed.TrialId, completed.Attempt, completed.Seq));
        var failed = trials.FishForMessage<ReportFailed>(_ => true, TimeSpan.FromSeconds(5));
        Assert.Equal((ids[1], 1, 4), (failed.TrialId, failed.Attempt, failed.Seq));
        Assert.Contains("loss became NaN at epoch 2, step 3 (TrialFailedException)", failed.Reason);   // classified as a solo failure
        Assert.Null(failed.NoSpaceAt);
        Assert.Equal([3], executor.PackSizes);

        // Not idle until both outcomes are acknowledged; nothing more of the superseded member, ever.
        worker.Tell(new ReportAck(ids[0], 4, 4));
        trials.ReceiveWhile(TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(500), m => m);   // resends from before the ack
        var resent = trials.ReceiveWhile(TimeSpan.FromSeconds(1.2), TimeSpan.FromSeconds(1.2), m => m).OfType<IAttemptReport>().ToList();
        Assert.Contains(resent, r => r.TrialId == ids[1]);
        Assert.DoesNotContain(resent, r => r.TrialId == ids[2] || r.TrialId == ids[0]);
        Assert.DoesNotContain(coordinator.ReceiveWhile(TimeSpan.FromMilliseconds(300), TimeSpan.FromMilliseconds(300), m => m), m => m is WorkerReady);
        worker.Tell(new ReportAck(ids[1], 1, 4));
        coordinator.FishForMessage<WorkerReady>(_ => true, TimeSpan.FromSeconds(3));
    }
}
