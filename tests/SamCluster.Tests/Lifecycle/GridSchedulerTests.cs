using SamCluster.Experiment.Grid;
using SamCluster.Coordinator.Lifecycle;
using SamCluster.Messages;
using Xunit;
using SamCluster.Experiment;

namespace SamCluster.Tests.Lifecycle;

/// <summary>Scheduling without actors: work pulling, acknowledgement and lease timeouts, lost workers, refusals,
/// retries and the journal read back on start.</summary>
public sealed class GridSchedulerTests
{
    static readonly DateTimeOffset T0 = new(2026, 11, 25, 10, 0, 0, TimeSpan.Zero);
    static readonly SchedulerOptions Options = new(MaxRetries: 1, AckTimeout: TimeSpan.FromSeconds(10), LeaseTimeout: TimeSpan.FromSeconds(60));

    /// <summary>The order given, so tests read plainly (the real policy is longest first).</summary>
    sealed class AsGiven : ITrialOrderPolicy
    {
        public IReadOnlyList<TrialSpec> Order(IEnumerable<TrialSpec> trials, DeviceClass devices) => trials.ToList();
        public double Cost(TrialSpec trial, DeviceClass devices) => 1;
    }

    static TrialSpec Trial(int repeat) =>
        new(new TrialKey("fashion-mnist", "resnet18", "sgd", repeat), repeat, new DataSpec("fashion-mnist", "/d", ["0", "1"]), RecipeTable.Defaults(2));

    static string Id(int repeat) => Trial(repeat).Key.Id;

    static GridScheduler Scheduler(int trials = 3) => new(Enumerable.Range(1, trials).Select(Trial), new AsGiven(), Options);

    /// <summary>Worker ready → the entity numbers the attempt → the worker accepts; returns the attempt's trial id.</summary>
    static string Run(GridScheduler s, string worker, int attempt, DateTimeOffset now)
    {
        var start = Assert.IsType<StartOn>(Assert.Single(s.OnWorkerReady(worker, now)));
        var offer = Assert.IsType<Offer>(Assert.Single(s.OnAttemptStarted(start.TrialId, attempt, worker, now)));
        Assert.Equal((start.TrialId, attempt, worker), (offer.TrialId, offer.Attempt, offer.Worker));
        s.OnAccepted(start.TrialId, attempt, now);
        return start.TrialId;
    }

    [Fact]
    public void A_ready_worker_gets_one_trial_and_nothing_more_until_it_asks_again()
    {
        var s = Scheduler();
        Assert.Equal(new StartOn(Id(1), "w0"), Assert.Single(s.OnWorkerReady("w0", T0)));
        Assert.Empty(s.OnWorkerReady("w0", T0)); // a resend that crossed the hand-out
        s.OnAttemptStarted(Id(1), 1, "w0", T0);
        s.OnAccepted(Id(1), 1, T0);
        Assert.Empty(s.OnWorkerReady("w0", T0));

        // The outcome frees it; its next ask gets the next trial.
        var done = s.OnOutcome(Id(1), 1, completed: true, failures: 0, T0);
        Assert.Equal(new Finish(Id(1), true), Assert.Single(done));
        Assert.Equal(new StartOn(Id(2), "w0"), Assert.Single(s.OnWorkerReady("w0", T0)));
    }

    /// <summary>Cheapest first on a CPU, dearest first on a GPU: shows which order the scheduler is in.</summary>
    sealed class ByDevice : ITrialOrderPolicy
    {
        public IReadOnlyList<TrialSpec> Order(IEnumerable<TrialSpec> trials, DeviceClass devices) =>
            devices == DeviceClass.Gpu ? trials.OrderByDescending(t => t.Key.Repeat).ToList() : trials.OrderBy(t => t.Key.Repeat).ToList();
        public double Cost(TrialSpec trial, DeviceClass devices) => devices == DeviceClass.Gpu ? 10 * trial.Key.Repeat : trial.Key.Repeat;
    }

    [Fact]
    public void The_queue_follows_the_kind_of_device_most_workers_have_and_put_back_trials_keep_the_front()
    {
        var s = new GridScheduler(Enumerable.Range(1, 5).Select(Trial), new ByDevice(), Options);
        Assert.Equal(DeviceClass.Cpu, s.Devices);
        Assert.Equal(new StartOn(Id(1), "cpu0"), Assert.Single(s.OnWorkerReady("cpu0", T0, "cpu")));
        s.OnAttemptStarted(Id(1), 1, "cpu0", T0);
        s.OnAccepted(Id(1), 1, T0);
        s.OnWorkerLost("cpu0", "node left", T0);                      // trial 1 goes back to the queue's front
        Assert.Equal([Id(1), Id(2), Id(3), Id(4), Id(5)], s.QueuedTrials);

        // A GPU worker: now most workers (all) are GPUs, and the queue is in the GPU order behind trial 1.
        Assert.Equal(new StartOn(Id(1), "gpu0"), Assert.Single(s.OnWorkerReady("gpu0", T0, "cuda:0")));
        Assert.Equal(DeviceClass.Gpu, s.Devices);
        Assert.Equal([Id(5), Id(4), Id(3), Id(2)], s.QueuedTrials);
        Assert.Equal(30, s.Cost(Id(3)));

        // One GPU and one CPU: not a majority of GPUs, so back to the CPU order.
        s.OnWorkerReady("cpu1", T0, "cpu");
        Assert.Equal(DeviceClass.Cpu, s.Devices);
        Assert.Equal([Id(3), Id(4), Id(5)], s.QueuedTrials);          // cpu1 took trial 2, first in the CPU order
    }

    [Fact]
    public void A_worker_that_never_answers_does_not_stall_the_grid()
    {
        var s = Scheduler(trials: 1);
        s.OnWorkerReady("silent", T0);
        s.OnAttemptStarted(Id(1), 1, "silent", T0);
        Assert.Empty(s.OnWorkerReady("w1", T0)); // nothing queued meanwhile
        Assert.Empty(s.OnTick(T0 + Options.AckTimeout - TimeSpan.FromSeconds(1)));

        var expired = s.OnTick(T0 + Options.AckTimeout);
        var release = Assert.IsType<Release>(expired[0]);
        Assert.Equal((Id(1), 1, "silent"), (release.TrialId, release.Attempt, release.Worker));
        Assert.Contains("not acknowledged", release.Why);
        Assert.IsType<Requeued>(expired[1]);
        // The waiting worker gets it at once; the silent one gets nothing until it asks again.
        Assert.Equal(new StartOn(Id(1), "w1"), expired[2]);
        Assert.Equal(3, expired.Count);
    }

    [Fact]
    public void An_entity_that_never_numbers_the_hand_out_does_not_stall_it_either()
    {
        var s = Scheduler(trials: 1);
        s.OnWorkerReady("w0", T0);
        var expired = s.OnTick(T0 + Options.AckTimeout);
        Assert.IsType<Requeued>(Assert.Single(expired)); // nothing numbered, nothing to release
        s.OnWorkerReady("w1", T0 + Options.AckTimeout);
        // The slow entity's late attempt is released, not offered.
        var late = Assert.IsType<Release>(Assert.Single(s.OnAttemptStarted(Id(1), 1, "w0", T0 + Options.AckTimeout)));
        Assert.Null(late.Worker);
    }

    [Fact]
    public void A_running_attempt_keeps_its_lease_while_it_reports_and_loses_it_when_silent()
    {
        var s = Scheduler(trials: 1);
        Run(s, "w0", 1, T0);
        var t = T0;
        for (var i = 0; i < 5; i++)
        {
            t += Options.LeaseTimeout - TimeSpan.FromSeconds(1);
            Assert.Empty(s.OnTick(t));
            s.OnProgress(Id(1), 1, t);
        }
        // A renewal of another attempt does not count.
        s.OnProgress(Id(1), 9, t + Options.LeaseTimeout - TimeSpan.FromSeconds(1));
        var expired = s.OnTick(t + Options.LeaseTimeout);
        Assert.Contains("lease expired", Assert.IsType<Release>(expired[0]).Why);
        Assert.Equal([Id(1)], s.QueuedTrials);
    }

    [Fact]
    public void A_lost_worker_s_trial_goes_to_the_front_of_the_queue()
    {
        var s = Scheduler();
        Run(s, "doomed", 1, T0);
        var actions = s.OnWorkerLost("doomed", "node downed", T0);
        var release = Assert.IsType<Release>(actions[0]);
        Assert.Null(release.Worker); // nobody to tell
        Assert.IsType<Requeued>(actions[1]);
        Assert.Equal([Id(1), Id(2), Id(3)], s.QueuedTrials);
        Assert.Equal(new StartOn(Id(1), "w1"), Assert.Single(s.OnWorkerReady("w1", T0)));
    }

    [Fact]
    public void A_refused_hand_out_is_queued_again_and_the_worker_waits_until_it_asks()
    {
        var s = Scheduler();
        s.OnWorkerReady("busy", T0);
        s.OnAttemptStarted(Id(1), 1, "busy", T0);
        var actions = s.OnReleased(Id(1), 1, "the worker refused it: busy", T0);
        Assert.IsType<Requeued>(Assert.Single(actions));
        Assert.Equal(Id(1), s.QueuedTrials.First());
        Assert.Equal(new StartOn(Id(1), "busy"), Assert.Single(s.OnWorkerReady("busy", T0)));
    }

    [Fact]
    public void Failures_are_retried_within_the_budget_then_final()
    {
        var s = Scheduler(trials: 2);
        Run(s, "w0", 1, T0);
        var first = s.OnOutcome(Id(1), 1, completed: false, failures: 1, T0);
        Assert.Equal(new Retry(Id(1), 1), Assert.Single(first));
        Assert.Equal(Id(1), s.QueuedTrials.First()); // retried before the untouched trials

        Run(s, "w0", 2, T0);
        var second = s.OnOutcome(Id(1), 2, completed: false, failures: 2, T0);
        Assert.Equal(new Finish(Id(1), false), Assert.Single(second));
        Assert.Equal(BoardStatus.Failed, s.Board[Id(1)].Status);
        Assert.Equal(1, s.Board.Trials.Count(e => e.IsFinished));
        Assert.Equal(0, s.Board.Count(BoardStatus.Completed));
    }

    [Fact]
    public void A_failure_of_a_superseded_attempt_changes_nothing_but_a_completion_is_final()
    {
        var s = Scheduler(trials: 1);
        Run(s, "w0", 1, T0);
        s.OnWorkerLost("w0", "lost", T0);
        Run(s, "w1", 2, T0);
        Assert.Empty(s.OnOutcome(Id(1), 1, completed: false, failures: 1, T0));
        Assert.Equal(new Finish(Id(1), true), Assert.Single(s.OnOutcome(Id(1), 2, completed: true, failures: 0, T0)));
        Assert.True(s.Board.AllFinished);
    }

    [Fact]
    public void The_journal_read_back_on_start_leaves_only_unfinished_trials_queued()
    {
        var s = Scheduler();
        TrialState Finished(int repeat, TrialStatus status, int failures) =>
            TrialState.New(Id(repeat)) with
            {
                Status = status,
                Attempts = Enumerable.Range(1, Math.Max(1, failures)).Select(n => new AttemptRecord(n, "w", "n", "cpu",
                    status == TrialStatus.Completed && n == Math.Max(1, failures) ? AttemptPhase.Completed : AttemptPhase.Failed,
                    3, true, null, [], null, "boom")).ToList(),
            };
        s.Restore([Finished(1, TrialStatus.Completed, 0), Finished(2, TrialStatus.Failed, 2), Finished(3, TrialStatus.Failed, 1)]);
        Assert.Equal([Id(3)], s.QueuedTrials); // failed once, one retry left
        Assert.Equal(2, s.Board.Trials.Count(e => e.IsFinished));
    }

    [Fact]
    public void A_trial_the_entity_reports_completed_already_is_finished_and_the_worker_takes_the_next()
    {
        var s = Scheduler(trials: 2);
        s.OnWorkerReady("w0", T0);
        var actions = s.OnStartRefused(Id(1), T0);
        Assert.Equal(new Finish(Id(1), true), actions[0]);
        Assert.Equal(new StartOn(Id(2), "w0"), actions[1]);
    }
}
