using Akka.Actor;
using Akka.Event;
using SamCluster.Messages;
using SamCluster.Training;

namespace SamCluster.GpuNode;

/// <summary>
/// One device slot of a GPU node. Pulls work: announces itself (<see cref="WorkerReady"/>) while idle. An assignment is
/// answered at once — accepted when idle, refused when busy — so the coordinator never waits on silence. While the
/// attempt trains (on a dedicated thread pinned to the device) the worker numbers every report it makes (accept, resume
/// point, each epoch with its checkpoint, the outcome), sends it to the trial's entity, and resends what is not yet
/// acknowledged; it renews its lease with the coordinator meanwhile. It asks for new work once its outcome is
/// acknowledged. A superseded attempt (lease expired, trial handed out again) is cancelled and never reported on again.
/// </summary>
public sealed class TrialWorker : ReceiveActor, IWithTimers
{
    /// <summary>Which slot this worker is: its id, its node's name and the device it is pinned to ("cpu", "cuda:1").</summary>
    public sealed record Slot(string WorkerId, string Node, string Device, NodeFacts? Facts = null);

    // ---- protocol (local) ----
    sealed record Announce;
    sealed record Resend;
    sealed record Resumed(AssignTrial Assignment, ResumeReport Report);
    sealed record EpochEnded(AssignTrial Assignment, EpochMetrics Metrics, CheckpointRef? Checkpoint);
    sealed record TrainingEnded(AssignTrial Assignment, TrialResult? Result, string? Failure, string? NoSpaceAt = null);

    readonly Slot _slot;
    readonly IActorRef _coordinator;
    readonly IActorRef _trials;
    readonly ITrialExecutor _executor;
    readonly TimeSpan _resendInterval;
    readonly ILoggingAdapter _log = Context.GetLogger();

    // ---- the attempt in hand ----
    AssignTrial? _attempt;
    CancellationTokenSource? _cancel;
    bool _training;
    bool _resumeReported;
    bool _outcomeMade;
    bool _superseded;
    int _lastSeq;
    readonly SortedDictionary<int, IAttemptReport> _unacknowledged = new();

    public ITimerScheduler Timers { get; set; } = null!;

    public TrialWorker(Slot slot, IActorRef coordinator, IActorRef trials, ITrialExecutor executor, TimeSpan resendInterval)
    {
        _slot = slot;
        _coordinator = coordinator;
        _trials = trials;
        _executor = executor;
        _resendInterval = resendInterval;
        Idle();
    }

    public static Props Props(Slot slot, IActorRef coordinator, IActorRef trials, ITrialExecutor executor, TimeSpan resendInterval) =>
        Akka.Actor.Props.Create(() => new TrialWorker(slot, coordinator, trials, executor, resendInterval));

    protected override void PreStart() => BecomeIdle();

    protected override void PostStop()
    {
        _cancel?.Cancel();
        _cancel?.Dispose();
    }

    void BecomeIdle()
    {
        Timers.Cancel("resend");
        _attempt = null;
        _cancel?.Dispose();
        _cancel = null;
        _unacknowledged.Clear();
        Become(Idle);
        AskForWork();
        // Keep asking while idle: a coordinator that restarted knows nothing of us until we do.
        Timers.StartPeriodicTimer("announce", new Announce(), _resendInterval);
    }

    void AskForWork() => _coordinator.Tell(new WorkerReady(_slot.WorkerId, _slot.Node, _slot.Device, _slot.Facts));

    void Idle()
    {
        Receive<Announce>(_ => AskForWork());
        Receive<AssignTrial>(StartAttempt);
        Receive<ReportAck>(_ => { });
        Receive<AttemptSuperseded>(_ => { });
    }

    void StartAttempt(AssignTrial assignment)
    {
        Timers.Cancel("announce");
        _attempt = assignment;
        _training = true;
        _resumeReported = false;
        _outcomeMade = false;
        _superseded = false;
        _lastSeq = 0;
        Become(Busy);
        Report(seq => new AcceptAttempt(assignment.Trial.Key.Id, assignment.Attempt, seq));
        Timers.StartPeriodicTimer("resend", new Resend(), _resendInterval);

        var trial = assignment.Trial;
        _log.Info("Training {0} (attempt {1}) on {2}", trial.Key.Id, assignment.Attempt, _slot.Device);
        _cancel = new CancellationTokenSource();
        var cancel = _cancel.Token;
        var self = Self;
        Task.Factory.StartNew(() =>
        {
            try
            {
                var result = _executor.Run(assignment, _slot.Device,
                    resume => self.Tell(new Resumed(assignment, resume)),
                    (metrics, checkpoint) => self.Tell(new EpochEnded(assignment, metrics, checkpoint)),
                    cancel);
                return new TrainingEnded(assignment, result, null);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancel.IsCancellationRequested)
            {
                return DiskFull.Find(e) is { } full
                    ? new TrainingEnded(assignment, null, FullDiskReason(full), (full as DiskFullException)?.Path ?? "")
                    : new TrainingEnded(assignment, null, FailureReason(e));
            }
        }, cancel, TaskCreationOptions.LongRunning, TaskScheduler.Default)
            .PipeTo(self, failure: _ => new TrainingEnded(assignment, null, null));
    }

    static string FailureReason(Exception e) =>
        e is AggregateException { InnerException: { } inner } ? FailureReason(inner) : $"{e.Message} ({e.GetType().Name})";

    static string FullDiskReason(Exception full) =>
        full is DiskFullException { Path: var path } ? $"no space left on device for {Path.GetFileName(path)} ({path})" : $"no space left on device: {full.Message}";

    void Busy()
    {
        Receive<AssignTrial>(a =>
        {
            if (IsCurrent(a.Trial.Key.Id, a.Attempt)) return; // the same hand-out again
            // Refuse at once, so the trial goes back to the queue now rather than when the acknowledgement times out.
            _trials.Tell(new RejectAttempt(a.Trial.Key.Id, a.Attempt, 1, $"{_slot.WorkerId}@{_slot.Node} is busy with {_attempt!.Trial.Key.Id}"));
        });
        Receive<Resumed>(r =>
        {
            if (!ReferenceEquals(r.Assignment, _attempt) || _superseded) return;
            _resumeReported = true;
            var id = r.Assignment.Trial.Key.Id;
            Report(seq => new ReportResume(id, r.Assignment.Attempt, seq, r.Report.From, r.Report.Note));
        });
        Receive<EpochEnded>(e =>
        {
            if (!ReferenceEquals(e.Assignment, _attempt) || _superseded) return;
            var id = e.Assignment.Trial.Key.Id;
            EnsureResumeReported(e.Assignment);
            Report(seq => new ReportEpoch(id, e.Assignment.Attempt, seq, e.Metrics, e.Checkpoint));
        });
        Receive<TrainingEnded>(OnTrainingEnded);
        Receive<ReportAck>(ack =>
        {
            if (!IsCurrent(ack.TrialId, ack.Attempt)) return;
            CheckpointRef? recorded = null;
            foreach (var seq in _unacknowledged.Keys.Where(s => s <= ack.Seq).ToList())   // in order: sorted
            {
                if (_unacknowledged[seq] is ReportEpoch { Checkpoint: { } checkpoint }) recorded = checkpoint;
                _unacknowledged.Remove(seq);
            }
            if (recorded is not null) PruneOlderThan(recorded);
            if (_outcomeMade && _unacknowledged.Count == 0) BecomeIdle();
        });
        Receive<AttemptSuperseded>(s =>
        {
            if (!IsCurrent(s.TrialId, s.Attempt) || _superseded) return;
            _log.Warning("Attempt {0} of {1} superseded ({2}); stopping it", s.Attempt, s.TrialId, s.Why);
            _superseded = true;
            _unacknowledged.Clear();
            _cancel?.Cancel();
            if (!_training) BecomeIdle(); // else when the training thread has let go of the device
        });
        Receive<Resend>(_ =>
        {
            foreach (var report in _unacknowledged.Values) _trials.Tell(report);
            if (_training && !_superseded) _coordinator.Tell(new RenewLease(_attempt!.Trial.Key.Id, _attempt.Attempt));
        });
        Receive<Announce>(_ => { });
    }

    /// <summary>Older checkpoints of the attempt go only once the journal holds a newer one (see CheckpointStore.PruneOlder);
    /// a file that cannot be deleted now is removed with the trial's others when it completes.</summary>
    void PruneOlderThan(CheckpointRef recorded)
    {
        try { _executor.CheckpointRecorded(_attempt!, recorded); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.Warning("Could not delete checkpoints older than epoch {0} of {1}: {2}", recorded.Epoch, _attempt!.Trial.Key.Id, e.Message);
        }
    }

    void OnTrainingEnded(TrainingEnded ended)
    {
        if (!ReferenceEquals(ended.Assignment, _attempt)) return;
        _training = false;
        if (_superseded)
        {
            BecomeIdle();
            return;
        }
        var a = ended.Assignment;
        var id = a.Trial.Key.Id;
        if (ended.Result is null && ended.Failure is null)
        {
            // Cancelled without being superseded: the node is stopping; the coordinator re-queues the trial.
            return;
        }
        EnsureResumeReported(a);
        _outcomeMade = true;
        if (ended.Result is { } result)
        {
            _log.Info("Finished {0} (attempt {1}) on {2}: {3}", id, a.Attempt, _slot.Device, Outcome(result.Summary));
            Report(seq => new ReportCompleted(id, a.Attempt, seq, result.Summary, result.Weights));
        }
        else if (ended.NoSpaceAt is { } path)
        {
            _log.Warning("Trial {0} attempt {1} stopped: {2}", id, a.Attempt, ended.Failure);
            Report(seq => new ReportFailed(id, a.Attempt, seq, ended.Failure!, path));
        }
        else
        {
            _log.Warning("Trial {0} attempt {1} failed: {2}", id, a.Attempt, ended.Failure);
            Report(seq => new ReportFailed(id, a.Attempt, seq, ended.Failure!));
        }
    }

    /// <summary>"test acc 91.20 %, train acc 99.10 %, 3 epochs in 45.2 s": a finished trial's result in the node's log.</summary>
    public static string Outcome(TrialSummary s) => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"test acc {s.TestAcc:F2} %, train acc {s.TrainAcc:F2} %, {s.Epochs} epoch{(s.Epochs == 1 ? "" : "s")} in {s.Seconds:F1} s");

    /// <summary>Epochs and outcomes follow the resume point in the entity's rules; an executor that started from
    /// epoch 0 without saying so gets it said for it.</summary>
    void EnsureResumeReported(AssignTrial a)
    {
        if (_resumeReported) return;
        _resumeReported = true;
        Report(seq => new ReportResume(a.Trial.Key.Id, a.Attempt, seq, null, ""));
    }

    void Report(Func<int, IAttemptReport> make)
    {
        var report = make(++_lastSeq);
        _unacknowledged[report.Seq] = report;
        _trials.Tell(report);
    }

    bool IsCurrent(string trialId, int attempt) => _attempt is { } a && a.Trial.Key.Id == trialId && a.Attempt == attempt;
}
