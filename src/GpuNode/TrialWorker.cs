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
/// A worker that packs (<see cref="WorkerReady.Pack"/>) may be handed several attempts at once (<see cref="AssignPack"/>):
/// it holds each as it would a solo one (its own report numbers, acknowledgements, resends, lease, supersession), trains
/// them as one pack on one thread, and asks for work again once every member is superseded or has its outcome acknowledged.
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
    /// <summary>The training thread let go of the device, with each attempt's end (solo: one).</summary>
    sealed record ThreadEnded(IReadOnlyList<TrainingEnded> Ends);

    /// <summary>One attempt in hand (a solo assignment's, or a pack member's): its reports' numbering, what is not yet
    /// acknowledged, and whether it is superseded or has its outcome.</summary>
    sealed class Held(AssignTrial assignment)
    {
        public AssignTrial Assignment { get; } = assignment;
        public string TrialId => Assignment.Trial.Key.Id;
        public CancellationTokenSource Cancel { get; } = new();
        public bool ResumeReported { get; set; }
        public bool OutcomeMade { get; set; }
        public bool Superseded { get; set; }
        public int LastSeq { get; set; }
        public SortedDictionary<int, IAttemptReport> Unacknowledged { get; } = new();
        /// <summary>Nothing more to say of it: superseded, or its outcome acknowledged.</summary>
        public bool Done => Superseded || (OutcomeMade && Unacknowledged.Count == 0);
    }

    readonly Slot _slot;
    readonly IActorRef _coordinator;
    readonly IActorRef _trials;
    readonly ITrialExecutor _executor;
    readonly TimeSpan _resendInterval;
    readonly int? _pack;
    readonly ILoggingAdapter _log = Context.GetLogger();

    // ---- the attempts in hand (one, or a pack's members) ----
    List<Held> _held = [];
    CancellationTokenSource? _cancel;   // the training thread's: cancelled when the worker stops
    bool _training;

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="pack">What the worker says of packs (<see cref="WorkerReady.Pack"/>): null takes one trial at a
    /// time, <see cref="WorkerReady.PackAsGridSays"/> as the grid's `pack` key says, else packs of at most this many.</param>
    public TrialWorker(Slot slot, IActorRef coordinator, IActorRef trials, ITrialExecutor executor, TimeSpan resendInterval, int? pack = null)
    {
        _slot = slot;
        _coordinator = coordinator;
        _trials = trials;
        _executor = executor;
        _resendInterval = resendInterval;
        _pack = pack;
        Idle();
    }

    public static Props Props(Slot slot, IActorRef coordinator, IActorRef trials, ITrialExecutor executor, TimeSpan resendInterval, int? pack = null) =>
        Akka.Actor.Props.Create(() => new TrialWorker(slot, coordinator, trials, executor, resendInterval, pack));

    protected override void PreStart() => BecomeIdle();

    protected override void PostStop()
    {
        _cancel?.Cancel();
        foreach (var held in _held) held.Cancel.Cancel();
        DisposeCancels();
    }

    void DisposeCancels()
    {
        _cancel?.Dispose();
        _cancel = null;
        foreach (var held in _held) held.Cancel.Dispose();
    }

    void BecomeIdle()
    {
        Timers.Cancel("resend");
        DisposeCancels();
        _held = [];
        Become(Idle);
        AskForWork();
        // Keep asking while idle: a coordinator that restarted knows nothing of us until we do.
        Timers.StartPeriodicTimer("announce", new Announce(), _resendInterval);
    }

    void AskForWork() => _coordinator.Tell(new WorkerReady(_slot.WorkerId, _slot.Node, _slot.Device, _slot.Facts, _pack));

    void Idle()
    {
        Receive<Announce>(_ => AskForWork());
        Receive<AssignTrial>(a => StartAttempts([a]));
        Receive<AssignPack>(p =>
        {
            if (p.Members.Count > 0) StartAttempts(p.Members);
        });
        Receive<ReportAck>(_ => { });
        Receive<AttemptSuperseded>(_ => { });
    }

    /// <summary>Accepts every attempt at once, then trains them on one thread: a solo attempt through
    /// <see cref="ITrialExecutor.Run"/>, as ever; two or more as one pack through <see cref="ITrialExecutor.RunPack"/>.</summary>
    void StartAttempts(IReadOnlyList<AssignTrial> assignments)
    {
        Timers.Cancel("announce");
        _held = assignments.Select(a => new Held(a)).ToList();
        _training = true;
        Become(Busy);
        foreach (var held in _held) Report(held, seq => new AcceptAttempt(held.TrialId, held.Assignment.Attempt, seq));
        Timers.StartPeriodicTimer("resend", new Resend(), _resendInterval);

        _cancel = new CancellationTokenSource();
        var self = Self;
        if (_held.Count == 1)
        {
            var held = _held[0];
            var assignment = held.Assignment;
            _log.Info("Training {0} (attempt {1}) on {2}", held.TrialId, assignment.Attempt, _slot.Device);
            // A solo attempt's own token: cancelled when it is superseded or the worker stops.
            var cancel = held.Cancel.Token;
            Task.Factory.StartNew(() =>
            {
                try
                {
                    var result = _executor.Run(assignment, _slot.Device,
                        resume => self.Tell(new Resumed(assignment, resume)),
                        (metrics, checkpoint) => self.Tell(new EpochEnded(assignment, metrics, checkpoint)),
                        cancel);
                    return new ThreadEnded([new TrainingEnded(assignment, result, null)]);
                }
                catch (Exception e) when (e is not OperationCanceledException || !cancel.IsCancellationRequested)
                {
                    return new ThreadEnded([Failed(assignment, e)]);
                }
            }, cancel, TaskCreationOptions.LongRunning, TaskScheduler.Default)
                .PipeTo(self, failure: _ => new ThreadEnded([new TrainingEnded(assignment, null, null)]));
            return;
        }

        _log.Info("Training a pack of {0} on {1}: {2}", _held.Count, _slot.Device,
            string.Join(", ", _held.Select(h => $"{h.TrialId} (attempt {h.Assignment.Attempt})")));
        var members = _held.Select(h => new PackAssignment(h.Assignment,
            resume => self.Tell(new Resumed(h.Assignment, resume)),
            (metrics, checkpoint) => self.Tell(new EpochEnded(h.Assignment, metrics, checkpoint)),
            h.Cancel.Token)).ToList();
        var whole = _cancel.Token;
        Task.Factory.StartNew(() =>
        {
            try
            {
                var outcomes = _executor.RunPack(members, _slot.Device, whole);
                return new ThreadEnded(members.Select((m, i) => MemberEnd(m, outcomes[i], whole)).ToList());
            }
            catch (Exception e) when (e is not OperationCanceledException || !whole.IsCancellationRequested)
            {
                // The pack as a whole failed (its data could not be read, ...): every member fails with it, as each would alone.
                return new ThreadEnded(members.Select(m => Failed(m.Assignment, e)).ToList());
            }
        }, whole, TaskCreationOptions.LongRunning, TaskScheduler.Default)
            .PipeTo(self, failure: _ => new ThreadEnded(members.Select(m => new TrainingEnded(m.Assignment, null, null)).ToList()));
    }

    /// <summary>A member's outcome as a solo attempt's end: its error classified as a solo attempt's exception is, and
    /// a cancellation (its own, or the worker's) no outcome at all.</summary>
    static TrainingEnded MemberEnd(PackAssignment member, PackMemberOutcome outcome, CancellationToken whole) => outcome switch
    {
        { Result: { } result } => new TrainingEnded(member.Assignment, result, null),
        { Error: OperationCanceledException } when member.Cancel.IsCancellationRequested || whole.IsCancellationRequested =>
            new TrainingEnded(member.Assignment, null, null),
        { Error: { } error } => Failed(member.Assignment, error),
        _ => Failed(member.Assignment, new InvalidOperationException("the pack returned neither a result nor an error")),
    };

    static TrainingEnded Failed(AssignTrial assignment, Exception e) =>
        DiskFull.Find(e) is { } full
            ? new TrainingEnded(assignment, null, FullDiskReason(full), (full as DiskFullException)?.Path ?? "")
            : new TrainingEnded(assignment, null, FailureReason(e));

    static string FailureReason(Exception e) =>
        e is AggregateException { InnerException: { } inner } ? FailureReason(inner) : $"{e.Message} ({e.GetType().Name})";

    static string FullDiskReason(Exception full) =>
        full is DiskFullException { Path: var path } ? $"no space left on device for {Path.GetFileName(path)} ({path})" : $"no space left on device: {full.Message}";

    void Busy()
    {
        Receive<AssignTrial>(a =>
        {
            if (Find(a.Trial.Key.Id, a.Attempt) is not null) return; // the same hand-out again
            Refuse(a);
        });
        Receive<AssignPack>(p =>
        {
            foreach (var a in p.Members.Where(a => Find(a.Trial.Key.Id, a.Attempt) is null)) Refuse(a);
        });
        Receive<Resumed>(r =>
        {
            if (Holding(r.Assignment) is not { Superseded: false } held) return;
            held.ResumeReported = true;
            Report(held, seq => new ReportResume(held.TrialId, held.Assignment.Attempt, seq, r.Report.From, r.Report.Note));
        });
        Receive<EpochEnded>(e =>
        {
            if (Holding(e.Assignment) is not { Superseded: false } held) return;
            EnsureResumeReported(held);
            Report(held, seq => new ReportEpoch(held.TrialId, held.Assignment.Attempt, seq, e.Metrics, e.Checkpoint));
        });
        Receive<ThreadEnded>(OnThreadEnded);
        Receive<ReportAck>(ack =>
        {
            if (Find(ack.TrialId, ack.Attempt) is not { } held) return;
            CheckpointRef? recorded = null;
            foreach (var seq in held.Unacknowledged.Keys.Where(s => s <= ack.Seq).ToList())   // in order: sorted
            {
                if (held.Unacknowledged[seq] is ReportEpoch { Checkpoint: { } checkpoint }) recorded = checkpoint;
                held.Unacknowledged.Remove(seq);
            }
            if (recorded is not null) PruneOlderThan(held, recorded);
            IdleWhenDone();
        });
        Receive<AttemptSuperseded>(s =>
        {
            if (Find(s.TrialId, s.Attempt) is not { Superseded: false } held) return;
            _log.Warning("Attempt {0} of {1} superseded ({2}); stopping it", s.Attempt, s.TrialId, s.Why);
            held.Superseded = true;
            held.Unacknowledged.Clear();
            held.Cancel.Cancel();
            IdleWhenDone(); // once the training thread has let go of the device
        });
        Receive<Resend>(_ =>
        {
            foreach (var held in _held)
            {
                foreach (var report in held.Unacknowledged.Values) _trials.Tell(report);
                if (_training && !held.Superseded && !held.OutcomeMade) _coordinator.Tell(new RenewLease(held.TrialId, held.Assignment.Attempt));
            }
        });
        Receive<Announce>(_ => { });
    }

    /// <summary>Refused at once, so the trial goes back to the queue now rather than when the acknowledgement times out.</summary>
    void Refuse(AssignTrial a) =>
        _trials.Tell(new RejectAttempt(a.Trial.Key.Id, a.Attempt, 1,
            $"{_slot.WorkerId}@{_slot.Node} is busy with {string.Join(", ", _held.Select(h => h.TrialId))}"));

    /// <summary>Idle again once the training thread is done and every attempt in hand is superseded or has its outcome
    /// acknowledged.</summary>
    void IdleWhenDone()
    {
        if (!_training && _held.All(h => h.Done)) BecomeIdle();
    }

    /// <summary>Older checkpoints of the attempt go only once the journal holds a newer one (see CheckpointStore.PruneOlder);
    /// a file that cannot be deleted now is removed with the trial's others when it completes.</summary>
    void PruneOlderThan(Held held, CheckpointRef recorded)
    {
        try { _executor.CheckpointRecorded(held.Assignment, recorded); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.Warning("Could not delete checkpoints older than epoch {0} of {1}: {2}", recorded.Epoch, held.TrialId, e.Message);
        }
    }

    void OnThreadEnded(ThreadEnded thread)
    {
        if (!_training || thread.Ends.Count == 0 || Holding(thread.Ends[0].Assignment) is null) return;
        _training = false;
        foreach (var ended in thread.Ends) OnTrainingEnded(ended);
        IdleWhenDone();
    }

    void OnTrainingEnded(TrainingEnded ended)
    {
        if (Holding(ended.Assignment) is not { Superseded: false } held) return;
        var a = ended.Assignment;
        var id = held.TrialId;
        if (ended.Result is null && ended.Failure is null)
        {
            // Cancelled without being superseded: the node is stopping; the coordinator re-queues the trial.
            return;
        }
        EnsureResumeReported(held);
        held.OutcomeMade = true;
        if (ended.Result is { } result)
        {
            _log.Info("Finished {0} (attempt {1}) on {2}: {3}", id, a.Attempt, _slot.Device, Outcome(result.Summary));
            Report(held, seq => new ReportCompleted(id, a.Attempt, seq, result.Summary, result.Weights));
        }
        else if (ended.NoSpaceAt is { } path)
        {
            _log.Warning("Trial {0} attempt {1} stopped: {2}", id, a.Attempt, ended.Failure);
            Report(held, seq => new ReportFailed(id, a.Attempt, seq, ended.Failure!, path));
        }
        else
        {
            _log.Warning("Trial {0} attempt {1} failed: {2}", id, a.Attempt, ended.Failure);
            Report(held, seq => new ReportFailed(id, a.Attempt, seq, ended.Failure!));
        }
    }

    /// <summary>"test acc 91.20 %, train acc 99.10 %, 3 epochs in 45.2 s": a finished trial's result in the node's log.</summary>
    public static string Outcome(TrialSummary s) => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"test acc {s.TestAcc:F2} %, train acc {s.TrainAcc:F2} %, {s.Epochs} epoch{(s.Epochs == 1 ? "" : "s")} in {s.Seconds:F1} s");

    /// <summary>Epochs and outcomes follow the resume point in the entity's rules; an executor that started from
    /// epoch 0 without saying so gets it said for it.</summary>
    void EnsureResumeReported(Held held)
    {
        if (held.ResumeReported) return;
        held.ResumeReported = true;
        Report(held, seq => new ReportResume(held.TrialId, held.Assignment.Attempt, seq, null, ""));
    }

    void Report(Held held, Func<int, IAttemptReport> make)
    {
        held.LastSeq++;
        var report = make(held.LastSeq);
        held.Unacknowledged[report.Seq] = report;
        _trials.Tell(report);
    }

    Held? Find(string trialId, int attempt) => _held.FirstOrDefault(h => h.TrialId == trialId && h.Assignment.Attempt == attempt);

    /// <summary>The attempt in hand for exactly this hand-out (a message from a previous hand-out's thread is not).</summary>
    Held? Holding(AssignTrial assignment) => _held.FirstOrDefault(h => ReferenceEquals(h.Assignment, assignment));
}
