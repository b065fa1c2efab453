using SamCluster.Coordinator.Lifecycle;
using SamCluster.Coordinator.Serialization;
using SamCluster.Hosting.Serialization;
using SamCluster.Messages;
using Xunit;

namespace SamCluster.Tests.Lifecycle;

/// <summary>The trial's rules without actors: every transition, resends, gaps, protocol violations and reports of
/// superseded attempts (the fencing token).</summary>
public sealed class TrialDeciderTests
{
    const string Id = "fashion-mnist/resnet18/sam/1";
    static readonly DateTimeOffset Now = new(2026, 11, 25, 10, 0, 0, TimeSpan.Zero);

    static EpochMetrics Epoch(int n) => new(n, 1.0 / n, 50 + n, 1.1 / n, 40 + n, 0.001, 2, 100);

    static CheckpointRef Checkpoint(int attempt, int epoch) =>
        new(attempt, epoch, $"{Id}/attempt-{attempt}-epoch-{epoch:D4}.ckpt", new string((char)('a' + epoch % 6), 64));

    /// <summary>Decides and applies, as the entity does.</summary>
    sealed class Trial
    {
        public TrialState State = TrialState.New(Id);
        public List<ITrialEvent> Journal { get; } = new();

        public Decision Send(ITrialMessage command)
        {
            var decision = TrialDecider.Decide(State, command, Now);
            foreach (var e in decision.Events)
            {
                State = TrialDecider.Apply(State, e);
                Journal.Add(e);
            }
            return decision;
        }

        /// <summary>Start, accept and report the resume point of the next attempt; returns its number.</summary>
        public int Begin(CheckpointRef? from = null, string node = "n1")
        {
            Send(new StartAttempt(Id, "w-" + node, node, "cpu"));
            var attempt = State.Attempt;
            Send(new AcceptAttempt(Id, attempt, 1));
            Send(new ReportResume(Id, attempt, 2, from, ""));
            return attempt;
        }
    }

    [Fact]
    public void A_trial_runs_from_start_to_completion_with_each_report_acknowledged()
    {
        var t = new Trial();
        var start = t.Send(new StartAttempt(Id, "w0", "n1", "cuda:1"));
        var started = Assert.IsType<AttemptStarted>(Assert.Single(start.Events));
        Assert.Equal((1, "n1", "cuda:1", Now), (started.Attempt, started.Node, started.Device, started.At));
        Assert.Null(start.Reply); // the coordinator learns of it from the published event
        Assert.Equal(TrialStatus.Running, t.State.Status);
        Assert.Equal(AttemptPhase.Offered, t.State.Current!.Phase);

        Assert.IsType<AttemptAccepted>(Assert.Single(t.Send(new AcceptAttempt(Id, 1, 1)).Events));
        Assert.Equal(AttemptPhase.Running, t.State.Current!.Phase);
        Assert.IsType<AttemptResumed>(Assert.Single(t.Send(new ReportResume(Id, 1, 2, null, "")).Events));

        var epoch1 = t.Send(new ReportEpoch(Id, 1, 3, Epoch(1), Checkpoint(1, 1)));
        Assert.Equal([typeof(EpochRecorded), typeof(CheckpointRecorded)], epoch1.Events.Select(e => e.GetType()));
        Assert.Equal(new ReportAck(Id, 1, 3), epoch1.Reply);
        t.Send(new ReportEpoch(Id, 1, 4, Epoch(2), Checkpoint(1, 2)));

        var done = t.Send(new ReportCompleted(Id, 1, 5, TrialSummary.From([Epoch(1), Epoch(2)]), null));
        Assert.IsType<TrialCompleted>(Assert.Single(done.Events));
        Assert.Equal(new ReportAck(Id, 1, 5), done.Reply);
        Assert.Equal(TrialStatus.Completed, t.State.Status);
        Assert.Equal([1, 2], t.State.Epochs.Select(e => e.Epoch));
        Assert.Equal(2, t.State.Summary!.Epochs);

        // Completed is final: no new attempt.
        var again = t.Send(new StartAttempt(Id, "w1", "n2", "cpu"));
        Assert.Empty(again.Events);
        Assert.IsType<StartRefused>(again.Reply);
    }

    [Fact]
    public void Resent_reports_are_acknowledged_again_and_change_nothing()
    {
        var t = new Trial();
        t.Begin();
        t.Send(new ReportEpoch(Id, 1, 3, Epoch(1), null));
        var before = t.State;

        foreach (var resend in new IAttemptReport[] { new AcceptAttempt(Id, 1, 1), new ReportResume(Id, 1, 2, null, ""), new ReportEpoch(Id, 1, 3, Epoch(1), null) })
        {
            var d = t.Send(resend);
            Assert.Empty(d.Events);
            Assert.Equal(new ReportAck(Id, 1, resend.Seq), d.Reply);
        }
        Assert.Same(before, t.State);

        // A resent outcome after completion is still acknowledged (the worker must stop resending), not recorded twice.
        t.Send(new ReportEpoch(Id, 1, 4, Epoch(2), null));
        t.Send(new ReportCompleted(Id, 1, 5, TrialSummary.From([Epoch(1), Epoch(2)]), null));
        var resent = t.Send(new ReportCompleted(Id, 1, 5, TrialSummary.From([Epoch(1), Epoch(2)]), null));
        Assert.Empty(resent.Events);
        Assert.Equal(new ReportAck(Id, 1, 5), resent.Reply);
        Assert.Single(t.Journal.OfType<TrialCompleted>());
    }

    [Fact]
    public void A_report_that_overtook_an_earlier_one_waits_for_it()
    {
        var t = new Trial();
        t.Begin();
        var early = t.Send(new ReportEpoch(Id, 1, 4, Epoch(2), null)); // epoch 1 (seq 3) is still on its way
        Assert.Empty(early.Events);
        Assert.Null(early.Reply);
        t.Send(new ReportEpoch(Id, 1, 3, Epoch(1), null));
        t.Send(new ReportEpoch(Id, 1, 4, Epoch(2), null)); // the worker resends it, in order
        Assert.Equal([1, 2], t.State.Epochs.Select(e => e.Epoch));
    }

    [Fact]
    public void Reports_of_a_superseded_attempt_are_refused_and_never_counted()
    {
        var t = new Trial();
        t.Begin(node: "partitioned");
        t.Send(new ReportEpoch(Id, 1, 3, Epoch(1), Checkpoint(1, 1)));

        // The node is cut off; the coordinator hands the trial out again.
        var restart = t.Send(new StartAttempt(Id, "w-n2", "n2", "cpu"));
        Assert.Equal([typeof(AttemptReleased), typeof(AttemptStarted)], restart.Events.Select(e => e.GetType()));
        Assert.Equal(2, t.State.Attempt);
        Assert.Equal(AttemptPhase.Released, t.State.Attempts[0].Phase);

        foreach (IAttemptReport late in new IAttemptReport[]
                 {
                     new ReportEpoch(Id, 1, 4, Epoch(2), Checkpoint(1, 2)),
                     new ReportCompleted(Id, 1, 5, TrialSummary.From([Epoch(1), Epoch(2)]), null),
                     new ReportFailed(Id, 1, 4, "node shutting down"),
                 })
        {
            var d = t.Send(late);
            Assert.Empty(d.Events);
            var refused = Assert.IsType<AttemptSuperseded>(d.Reply);
            Assert.Equal(1, refused.Attempt);
        }
        Assert.Equal(TrialStatus.Running, t.State.Status);
        Assert.Single(t.State.Attempts[0].Epochs);

        // A report for an attempt that was never handed out is refused too.
        Assert.IsType<AttemptSuperseded>(t.Send(new AcceptAttempt(Id, 7, 1)).Reply);
    }

    [Fact]
    public void A_released_attempt_refuses_further_reports_and_the_trial_is_queued()
    {
        var t = new Trial();
        t.Begin();
        var release = t.Send(new ReleaseAttempt(Id, 1, "its lease expired"));
        Assert.IsType<AttemptReleased>(Assert.Single(release.Events));
        Assert.Equal(TrialStatus.Queued, t.State.Status);
        Assert.IsType<AttemptSuperseded>(t.Send(new ReportEpoch(Id, 1, 3, Epoch(1), null)).Reply);

        // Releasing again, or releasing an attempt that is not the open one, changes nothing.
        Assert.Empty(t.Send(new ReleaseAttempt(Id, 1, "again")).Events);
        Assert.Empty(t.Send(new ReleaseAttempt(Id, 5, "never existed")).Events);
    }

    [Fact]
    public void A_worker_that_refuses_an_attempt_releases_it()
    {
        var t = new Trial();
        t.Send(new StartAttempt(Id, "w0", "n1", "cpu"));
        var refused = t.Send(new RejectAttempt(Id, 1, 1, "busy with another trial"));
        var released = Assert.IsType<AttemptReleased>(Assert.Single(refused.Events));
        Assert.Contains("busy with another trial", released.Why);
        Assert.Equal(new ReportAck(Id, 1, 1), refused.Reply);
        Assert.Equal(TrialStatus.Queued, t.State.Status);
    }

    [Fact]
    public void A_failure_counts_and_the_next_attempt_starts_fresh()
    {
        var t = new Trial();
        t.Begin();
        var failed = t.Send(new ReportFailed(Id, 1, 3, "loss became NaN at epoch 1, step 3"));
        Assert.IsType<AttemptFailed>(Assert.Single(failed.Events));
        Assert.Equal((TrialStatus.Failed, 1, "loss became NaN at epoch 1, step 3"), (t.State.Status, t.State.Failures, t.State.LastFailure));
        Assert.Equal(2, t.Begin());
        Assert.Equal(TrialStatus.Running, t.State.Status);
        Assert.Equal(1, t.State.Failures);
    }

    [Fact]
    public void An_attempt_stopped_by_a_full_disk_is_released_not_failed_and_resumes_from_its_checkpoint()
    {
        var t = new Trial();
        t.Begin();
        t.Send(new ReportEpoch(Id, 1, 3, Epoch(1), Checkpoint(1, 1)));
        var path = $"/runs/x/checkpoints/{Id}/attempt-1-epoch-0002.ckpt";
        var stopped = t.Send(new ReportFailed(Id, 1, 4, "no space left on device for attempt-1-epoch-0002.ckpt", path));
        var released = Assert.IsType<AttemptReleased>(Assert.Single(stopped.Events));
        Assert.Equal(path, released.NoSpaceAt);
        Assert.Equal(new ReportAck(Id, 1, 4), stopped.Reply);
        Assert.Equal((TrialStatus.Queued, 0), (t.State.Status, t.State.Failures)); // no retry spent
        Assert.Equal([Checkpoint(1, 1)], t.State.ResumeCandidates);
        // Journaled and read back as it was written.
        var codec = (byte[] bytes) => (AttemptReleased)WireFormat.Decode(bytes, "e-re");
        Assert.Equal(released, codec(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(released)));
        Assert.Null(codec("""{"TrialId":"t","Attempt":1,"Why":"worker lost"}"""u8.ToArray()).NoSpaceAt); // journals of earlier versions
    }

    [Fact]
    public void A_resumed_attempt_inherits_the_epochs_up_to_its_checkpoint()
    {
        var t = new Trial();
        t.Begin(node: "lost");
        for (var e = 1; e <= 3; e++) t.Send(new ReportEpoch(Id, 1, 2 + e, Epoch(e), Checkpoint(1, e)));
        t.Send(new ReleaseAttempt(Id, 1, "worker lost"));
        Assert.Equal([Checkpoint(1, 3)], t.State.ResumeCandidates);

        // Attempt 2 could not read epoch 3's checkpoint and fell back to an older one (epoch 2 is what it names).
        t.Begin(from: Checkpoint(1, 2));
        Assert.Equal([1, 2], t.State.Epochs.Select(e => e.Epoch));
        // The epoch after the checkpoint is due, not one it already holds.
        var repeated = t.Send(new ReportEpoch(Id, 2, 3, Epoch(2), null));
        Assert.Contains("epoch 2 reported where epoch 3 was due", Assert.IsType<AttemptFailed>(Assert.Single(repeated.Events)).Reason);

        var third = t.Begin(from: Checkpoint(1, 3));
        t.Send(new ReportEpoch(Id, third, 3, Epoch(4), Checkpoint(third, 4)));
        var done = t.Send(new ReportCompleted(Id, third, 4, TrialSummary.From([Epoch(1), Epoch(2), Epoch(3), Epoch(4)]), null));
        Assert.IsType<TrialCompleted>(Assert.Single(done.Events));
        Assert.Equal([1, 2, 3, 4], t.State.Epochs.Select(e => e.Epoch));
        // Each attempt's newest checkpoint, best first.
        Assert.Equal([Checkpoint(third, 4), Checkpoint(1, 3)], t.State.ResumeCandidates);
    }

    [Theory]
    [InlineData("epoch-before-accept")]
    [InlineData("epoch-before-resume")]
    [InlineData("skipped-epoch")]
    [InlineData("summary-mismatch")]
    [InlineData("future-checkpoint")]
    [InlineData("second-accept")]
    public void A_report_that_breaks_the_protocol_fails_the_attempt(string violation)
    {
        var t = new Trial();
        t.Send(new StartAttempt(Id, "w0", "n1", "cpu"));
        IAttemptReport report = violation switch
        {
            "epoch-before-accept" => new ReportEpoch(Id, 1, 1, Epoch(1), null),
            _ => new AcceptAttempt(Id, 1, 1),
        };
        if (violation != "epoch-before-accept")
        {
            t.Send(report);
            if (violation == "second-accept") report = new AcceptAttempt(Id, 1, 2);
            else if (violation == "epoch-before-resume") report = new ReportEpoch(Id, 1, 2, Epoch(1), null);
            else if (violation == "future-checkpoint") report = new ReportResume(Id, 1, 2, Checkpoint(1, 1), "");
            else
            {
                t.Send(new ReportResume(Id, 1, 2, null, ""));
                report = violation == "skipped-epoch"
                    ? new ReportEpoch(Id, 1, 3, Epoch(2), null)
                    : new ReportCompleted(Id, 1, 3, TrialSummary.From([Epoch(1)]), null);
            }
        }
        var d = t.Send(report);
        Assert.IsType<AttemptFailed>(Assert.Single(d.Events));
        Assert.Equal(new ReportAck(Id, 1, report.Seq), d.Reply);
        Assert.Equal(TrialStatus.Failed, t.State.Status);
    }

    [Fact]
    public void Replaying_the_journal_gives_the_live_state()
    {
        var t = new Trial();
        t.Begin();
        t.Send(new ReportEpoch(Id, 1, 3, Epoch(1), Checkpoint(1, 1)));
        t.Send(new ReportFailed(Id, 1, 4, "boom"));
        t.Begin(from: Checkpoint(1, 1));
        t.Send(new ReportEpoch(Id, 2, 3, Epoch(2), Checkpoint(2, 2)));
        var replayed = TrialDecider.ApplyAll(TrialState.New(Id), t.Journal);
        Assert.Equal(t.State.Version, replayed.Version);
        Assert.Equal(t.Journal.Count, replayed.Version);
        Assert.Equal(t.State.Epochs, replayed.Epochs);
        Assert.Equal(t.State.ResumeCandidates, replayed.ResumeCandidates);
        Assert.Equal(t.State.Attempts.Select(a => (a.Number, a.Phase, a.Reports)), replayed.Attempts.Select(a => (a.Number, a.Phase, a.Reports)));
    }

    [Fact]
    public void A_journal_of_the_earlier_format_reads_back_as_the_same_trial()
    {
        var state = TrialState.New(Id);
        ILegacyTrialRecord[] journal =
        [
            new LegacyTrialStarted(Id, 1, "w0", "n1", "cpu"),
            new LegacyEpochCompleted(Id, 1, Epoch(1)),
            new LegacyTrialFailed(Id, 1, "n1", "cpu", "boom"),
            new LegacyTrialStarted(Id, 2, "w0", "n2", "cpu"),
            new LegacyEpochCompleted(Id, 2, Epoch(1)),
            new LegacyTrialCompleted(Id, 2, "n2", "cpu", [Epoch(1), Epoch(2)], TrialSummary.From([Epoch(1), Epoch(2)])),
        ];
        foreach (var record in journal) state = TrialDecider.ApplyAll(state, LegacyJournal.Upcast(state, record));
        Assert.Equal(TrialStatus.Completed, state.Status);
        Assert.Equal((2, 1, "n2"), (state.Attempt, state.Failures, state.Node));
        Assert.Equal([1, 2], state.Epochs.Select(e => e.Epoch));
    }
}
