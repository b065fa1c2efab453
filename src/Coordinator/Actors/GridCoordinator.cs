using Akka.Actor;
using Akka.Event;
using SamCluster.Coordinator.Lifecycle;
using SamCluster.Messages;
using SamCluster.Experiment;
using SamCluster.Reporting.Sequential;

namespace SamCluster.Coordinator.Actors;

/// <summary>The grid to run and how.</summary>
/// <param name="Trials">The run's trials in grid order (the board lists them so; the order policy decides hand-outs).</param>
/// <param name="CheckpointEvery">Checkpoint after every this many epochs (0 = off); sent with each hand-out.</param>
/// <param name="CheckpointDir">The checkpoint store as the coordinator sees it (nodes may name their own).</param>
/// <param name="Sequential">The grid's `sequential` key: repeats run in looks, and each comparison stops at the look
/// that decides it. Null: every trial runs.</param>
public sealed record GridPlan(
    IReadOnlyList<TrialSpec> Trials,
    SchedulerOptions Scheduling,
    ITrialOrderPolicy Order,
    int CheckpointEvery = 1,
    string? CheckpointDir = null,
    SequentialPlan? Sequential = null);

/// <summary>Completes when the grid is done and the report written; the host waits on it to exit. It is also the one
/// place a run ends early: whatever cannot go on (a full disk met by any writer, an unreadable journal) fails it, the
/// first failure wins, and the host reports it once.</summary>
public sealed class RunCompletion
{
    readonly TaskCompletionSource<GridCoordinator.GridFinished> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public Task<GridCoordinator.GridFinished> Task => _done.Task;
    public void Finish(GridCoordinator.GridFinished outcome) => _done.TrySetResult(outcome);
    public void Fail(Exception e) => _done.TrySetException(e);
}

/// <summary>
/// A thin actor over <see cref="GridScheduler"/> and the <see cref="TrialBoard"/>: it folds the events trial entities
/// publish into the board, feeds the scheduler what workers and entities say, carries out the scheduler's actions (start
/// an attempt at the entity, offer it to the worker, release it), and tells the observers, each time with the trial's
/// entry and the board as it is then. On start it reads every trial's state back from the journal, so a restarted
/// coordinator runs only what is unfinished. When every trial is finished it asks the report writer for the report.
/// A sequential grid runs in looks (<see cref="LookSchedule"/>): only the first look's repeats are queued; when every
/// trial of a comparison's look is finished the look is decided, the decision journaled (<see cref="LookJournal"/>)
/// and only then acted on — the next look's repeats queued for open comparisons, the rest skipped.
/// </summary>
public sealed class GridCoordinator : ReceiveActor, IWithUnboundedStash, IWithTimers
{
    // ---- protocol (local to the coordinator process) ----
    /// <summary>Reply: a <see cref="RunView"/> of where the grid stands.</summary>
    public sealed record GetRunView
    {
        public static readonly GetRunView Instance = new();
    }

    /// <summary>Report writer → coordinator: the report is written.</summary>
    public sealed record ReportWritten(string Table);

    /// <summary>The grid's end, given to <see cref="RunCompletion"/>.</summary>
    /// <param name="FirstFailure">"trial id: reason" of the first failed trial (by id), null when none failed.</param>
    public sealed record GridFinished(int Completed, int Failed, int Recovered, string Table, string? FirstFailure = null);

    sealed record Recovered(IReadOnlyList<TrialState> States, IReadOnlyList<LookDecided> Looks);
    sealed record RetryRecovery;
    sealed record LeaseTick;
    sealed record ViewTick;
    sealed record WorkerInfo(IActorRef Ref, string Id, string Node, string Device, NodeFacts? Facts)
    {
        public string Name => $"{Id}@{Node}/{Device}";
    }

    // ---- state ----
    readonly GridPlan _plan;
    readonly TrialBoard _board;
    readonly GridScheduler _scheduler;
    readonly IActorRef _trials;
    readonly IActorRef _reportWriter;
    readonly RunCompletion _completion;
    readonly IReadOnlyList<IRunObserver> _observers;
    readonly TimeSpan _viewInterval;
    readonly ILoggingAdapter _log = Context.GetLogger();
    readonly Dictionary<string, WorkerInfo> _workers = new();
    readonly Dictionary<IActorRef, string> _workerKeys = new();
    readonly DateTimeOffset _startedAt = DateTimeOffset.UtcNow;
    readonly LookSchedule? _looks;
    readonly HashSet<(string Comparison, int Look)> _deciding = new();   // sent to the look journal, not yet recorded
    readonly Dictionary<(string Node, string? Address), List<string>> _lostTrials = new();   // trials of a node's lost workers while others of it remain
    IActorRef? _lookJournal;
    bool _reportAsked;
    bool _ended;

    public IStash Stash { get; set; } = null!;
    public ITimerScheduler Timers { get; set; } = null!;

    public GridCoordinator(GridPlan plan, IActorRef trials, IActorRef reportWriter, RunCompletion completion,
        IReadOnlyList<IRunObserver> observers, TimeSpan viewInterval)
    {
        _plan = plan;
        _board = new TrialBoard(plan.Trials);
        _scheduler = new GridScheduler(_board, plan.Order, plan.Scheduling);
        _trials = trials;
        _reportWriter = reportWriter;
        _completion = completion;
        _observers = observers;
        _viewInterval = viewInterval;
        if (plan.Sequential is { } sequential)
            _looks = new LookSchedule(SequentialStudy.Of(sequential, plan.Trials.Select(t => t.Key)));
        Recovering();
    }

    public static Props Props(GridPlan plan, IActorRef trials, IActorRef reportWriter, RunCompletion completion,
        IReadOnlyList<IRunObserver> observers, TimeSpan viewInterval) =>
        Akka.Actor.Props.Create(() => new GridCoordinator(plan, trials, reportWriter, completion, observers, viewInterval));

    protected override void PreStart()
    {
        if (_looks is not null) _lookJournal = Context.ActorOf(LookJournal.Props(Self), "looks");
        AskAllTrialStates();
    }

    void AskAllTrialStates()
    {
        var asks = _plan.Trials.Select(t => _trials.Ask<TrialState>(new GetTrialState(t.Key.Id), TimeSpan.FromSeconds(60)));
        var looks = _lookJournal;
        async Task<Recovered> Read()
        {
            var states = await Task.WhenAll(asks);
            var decided = looks is null ? [] : (await looks.Ask<LookJournal.Decisions>(LookJournal.GetDecisions.Instance, TimeSpan.FromSeconds(60))).Looks;
            return new Recovered(states, decided);
        }
        Read().PipeTo(Self, failure: e => new Status.Failure(e));
    }

    void Recovering()
    {
        Receive<Recovered>(r =>
        {
            _scheduler.Restore(r.States);
            if (_looks is not null)
            {
                foreach (var decided in r.Looks) _looks.Apply(decided);
                ApplyGates(DateTimeOffset.UtcNow);   // no worker yet: nothing is handed out
            }
            Notify(o => o.OnStart(View()));
            if (_ended) return;
            Become(Ready);
            Stash.UnstashAll();
            Timers.StartPeriodicTimer("leases", new LeaseTick(), TimeSpan.FromSeconds(1));
            Timers.StartPeriodicTimer("view", new ViewTick(), _viewInterval);
            // A coordinator stopped between a look's last trial and its decision decides it now, once.
            CheckLooks();
            CheckDone();
        });
        Receive<Status.Failure>(f =>
        {
            _log.Warning("Reading trial states from the journal failed ({0}); retrying", f.Cause.Message);
            Timers.StartSingleTimer("retry-recovery", new RetryRecovery(), TimeSpan.FromSeconds(2));
        });
        Receive<RetryRecovery>(_ => AskAllTrialStates());
        Receive<TrialJournalUnreadable>(OnJournalUnreadable);
        Receive<TrialJournalFull>(OnJournalFull);
        Receive<TrialJournalUnreachable>(u => EndRun(u.Cause)); // the host says which server, and that the run is intact
        ReceiveAny(_ => Stash.Stash());
    }

    void Ready()
    {
        Receive<WorkerReady>(OnWorkerReady);
        Receive<TrialEventPublished>(OnTrialEvent);
        Receive<StartRefused>(r =>
        {
            _log.Info("Not starting {0}: {1}", r.TrialId, r.Why);
            Execute(_scheduler.OnStartRefused(r.TrialId, DateTimeOffset.UtcNow));
        });
        Receive<RenewLease>(r => _scheduler.OnProgress(r.TrialId, r.Attempt, DateTimeOffset.UtcNow));
        Receive<Terminated>(t => OnWorkerLost(t.ActorRef, "stopped, or its node left the cluster"));
        Receive<LeaseTick>(_ => Execute(_scheduler.OnTick(DateTimeOffset.UtcNow)));
        Receive<ViewTick>(_ => Notify(o => o.OnTick(View())));
        Receive<GetRunView>(_ => Sender.Tell(View()));
        Receive<ReportWritten>(r =>
        {
            var firstFailure = _board.Trials.Where(e => e.Status == BoardStatus.Failed).OrderBy(e => e.Id, StringComparer.Ordinal)
                .Select(e => $"{e.Id}: {e.State.LastFailure ?? "no reason recorded"}").FirstOrDefault();
            _completion.Finish(new GridFinished(_board.Count(BoardStatus.Completed), _board.Count(BoardStatus.Failed),
                _board.Trials.Count(e => e.Recovered), r.Table, firstFailure));
        });
        Receive<LookJournal.Recorded>(r => OnLookRecorded(r.Look));
        Receive<Status.Failure>(f => EndRun(f.Cause));
        Receive<TrialJournalUnreadable>(OnJournalUnreadable);
        Receive<TrialJournalFull>(OnJournalFull);
        Receive<TrialJournalUnreachable>(u => EndRun(u.Cause)); // the host says which server, and that the run is intact
    }

    /// <summary>After the run has ended early: nothing more is scheduled or written while the host shuts down.</summary>
    void Ended()
    {
        Receive<GetRunView>(_ => Sender.Tell(View()));
        ReceiveAny(_ => { });
    }

    /// <summary>Ends the run early with <paramref name="why"/> (the host prints it once and exits 1); nothing more is handed
    /// out or written by the observers.</summary>
    void EndRun(Exception why)
    {
        _completion.Fail(why);
        if (_ended) return;
        _ended = true;
        Timers.CancelAll();
        Stash.UnstashAll();
        Become(Ended);
    }

    /// <summary>The journal's disk is full: every event after this one would fail too.</summary>
    void OnJournalFull(TrialJournalFull full) =>
        EndRun(new DiskFullException(JournalFile, new IOException($"journaling an event of {Whose(full.TrialId)} failed: the disk is full")));

    /// <summary>"trial ID", or the look journal's name.</summary>
    static string Whose(string journal) => journal == LookJournal.Name ? journal : $"trial {journal}";

    /// <summary>The journal's file in the run folder (the SQLite journal; a database server reports its own disk).</summary>
    const string JournalFile = "journal.db";

    /// <summary>A trial whose journal cannot be replayed would fail its recovery for ever: end the run, naming it.</summary>
    void OnJournalUnreadable(TrialJournalUnreadable u) => EndRun(new UserInputException(
        $"the journal cannot be replayed: {Whose(u.TrialId)}'s events are unreadable ({u.Problem}); nothing was changed — restore journal.db from a backup, or choose another --out folder"));

    void OnWorkerReady(WorkerReady ready)
    {
        var worker = Sender;
        if (!_workerKeys.TryGetValue(worker, out var key))
        {
            var info = new WorkerInfo(worker, ready.WorkerId, ready.Node, ready.Device, ready.Facts);
            // The name says where it runs; the uid tells a restarted node's worker of the same name from its predecessor.
            key = $"{info.Name}#{worker.Path.Uid}";
            _workerKeys[worker] = key;
            _workers[key] = info;
            Context.Watch(worker);
            var name = info.Name;
            Notify(o => o.OnWorkerJoined(name, _workers.Count));
        }
        Execute(_scheduler.OnWorkerReady(key, DateTimeOffset.UtcNow, ready.Device, ready.Pack));
    }

    void OnWorkerLost(IActorRef worker, string why)
    {
        if (!_workerKeys.Remove(worker, out var key) || !_workers.Remove(key, out var info)) return;
        // Nodes leave with the coordinator once the grid is done: then nothing was lost, and the line says so.
        var finished = _board.AllFinished;
        if (finished) Notify(o => o.OnWorkerLeft(info.Name, _workers.Count));
        else Notify(o => o.OnWorkerLost(info.Name, why, _workers.Count));
        var actions = _scheduler.OnWorkerLost(key, $"worker {info.Name} lost ({why})", DateTimeOffset.UtcNow);
        var node = (info.Node, Address: NodeAddress(worker));
        if (!finished)
        {
            // One line per node once its last worker is gone, naming it and the trials it held (issue 27).
            if (!_lostTrials.TryGetValue(node, out var held)) _lostTrials[node] = held = [];
            held.AddRange(actions.OfType<Requeued>().Select(r => r.TrialId));
            if (!_workers.Values.Any(w => w.Node == node.Node && NodeAddress(w.Ref) == node.Address))
            {
                _lostTrials.Remove(node);
                Notify(o => o.OnNodeLost(node.Node, node.Address, held, _workers.Count));
            }
        }
        Execute(actions);
    }

    /// <summary>"10.1.2.7:4055": where a worker's node listens; null for a worker in this process.</summary>
    static string? NodeAddress(IActorRef worker) =>
        worker.Path.Address is { Host: { } host, Port: { } port } ? $"{host}:{port}" : null;

    void OnTrialEvent(TrialEventPublished published)
    {
        var e = published.Event;
        if (!_board.Knows(e.TrialId)) return;
        var before = _board[e.TrialId].State.Version;
        if (_board.Apply(e, published.Version, out var gap) is not { } entry) return; // already in the state read back from the journal
        if (gap) _log.Warning("Events of {0} arrived out of order (version {1} after {2})", e.TrialId, published.Version, before);
        var state = entry.State;
        Notify(o => o.OnTrialEvent(entry, e, _board.Trials));
        if (e is AttemptReleased { NoSpaceAt: { } full })
        {
            // The worker could not write its checkpoint or weights: every attempt would meet the same full disk. The
            // attempt is released in the journal (no retry spent), so the same command resumes the trial once there is space.
            EndRun(new DiskFullException(full.Length > 0 ? full : _plan.CheckpointDir ?? "the checkpoint store", null, state.Node));
        }
        if (_ended) return;

        var now = DateTimeOffset.UtcNow;
        switch (e)
        {
            case AttemptStarted s:
                Execute(_scheduler.OnAttemptStarted(s.TrialId, s.Attempt, s.WorkerId, now));
                break;
            case AttemptAccepted a:
                _scheduler.OnAccepted(a.TrialId, a.Attempt, now);
                break;
            case AttemptResumed or EpochRecorded or CheckpointRecorded:
                _scheduler.OnProgress(e.TrialId, e.Attempt, now);
                break;
            case TrialCompleted c:
                Execute(_scheduler.OnOutcome(c.TrialId, c.Attempt, completed: true, state.Failures, now));
                break;
            case AttemptFailed f:
                Execute(_scheduler.OnOutcome(f.TrialId, f.Attempt, completed: false, state.Failures, now));
                break;
            case AttemptReleased r:
                Execute(_scheduler.OnReleased(r.TrialId, r.Attempt, r.Why, now));
                break;
        }
    }

    void Execute(IReadOnlyList<SchedulerAction> actions)
    {
        foreach (var action in actions)
        {
            if (_ended) return;
            switch (action)
            {
                case StartOn start:
                    var info = _workers[start.Worker];
                    _trials.Tell(new StartAttempt(start.TrialId, start.Worker, info.Node, info.Device, TrialConditions.Of(info.Facts, info.Device)), Self);
                    break;
                case Offer offer:
                    var taker = _workers[offer.Worker];
                    Notify(o => o.OnNodeAtWork(taker.Node, taker.Facts));
                    taker.Ref.Tell(Assignment(offer), Self);
                    break;
                case OfferPack pack:
                    var packTaker = _workers[pack.Worker];
                    Notify(o => o.OnNodeAtWork(packTaker.Node, packTaker.Facts));
                    packTaker.Ref.Tell(new AssignPack(pack.Members.Select(Assignment).ToList()), Self);
                    // Each member is its own trial to the observers: one offer each.
                    foreach (var member in pack.Members)
                    {
                        var memberEntry = _board[member.TrialId];
                        Notify(o => o.OnDecision(memberEntry, member, _board.Trials));
                    }
                    continue;
                case Release release:
                    _trials.Tell(new ReleaseAttempt(release.TrialId, release.Attempt, release.Why), Self);
                    if (release.Worker is { } w && _workers.TryGetValue(w, out var holder))
                        holder.Ref.Tell(new AttemptSuperseded(release.TrialId, release.Attempt, release.Why), Self);
                    break;
            }
            var entry = _board[TrialOf(action)];
            Notify(o => o.OnDecision(entry, action, _board.Trials));
        }
        if (actions.Any(a => a is Finish))
        {
            CheckLooks();
            CheckDone();
        }
    }

    /// <summary>Sequential studies: every look whose trials are all finished and that is not decided yet is decided
    /// and sent to the look journal; it is acted on once journaled (<see cref="OnLookRecorded"/>).</summary>
    void CheckLooks()
    {
        if (_looks is null || _lookJournal is null || _ended) return;
        var finished = _board.Trials.Where(e => e.IsFinished).ToList();
        var due = _looks.Due(finished.Select(e => e.Id).ToHashSet()).Where(d => !_deciding.Contains((d.Comparison.Id, d.Look))).ToList();
        if (due.Count == 0) return;
        var inputs = finished.Select(e => new LookInput(e.Spec.Key, e.Completed == true ? e.State.Summary?.TestAcc : null)).ToList();
        foreach (var look in due)
        {
            _deciding.Add((look.Comparison.Id, look.Look));
            _lookJournal.Tell(new LookJournal.Record(_looks.Decide(look, inputs, DateTimeOffset.UtcNow)));
        }
    }

    /// <summary>A decision is in the journal: the trials it opens are queued, those it leaves unneeded are skipped.</summary>
    void OnLookRecorded(LookDecided decided)
    {
        _deciding.Remove((decided.Comparison, decided.Look));
        if (_looks is null || _ended || !_looks.Apply(decided)) return;
        var comparison = _looks.All.First(c => c.Comparison.Id == decided.Comparison);
        var dispatch = ApplyGates(DateTimeOffset.UtcNow);   // the board says what the decision opened or skipped before it is told
        Notify(o => o.OnLookDecided(comparison, View()));
        Execute(dispatch);
        CheckLooks();
        CheckDone();
    }

    /// <summary>Puts every unfinished trial behind, through or out of its look's gate as the decisions so far say.</summary>
    IReadOnlyList<SchedulerAction> ApplyGates(DateTimeOffset now)
    {
        if (_looks is null) return [];
        List<string> open = [], waiting = [], skipped = [];
        foreach (var e in _board.Trials.Where(e => e is { IsFinished: false, HandOut: null }))
        {
            var key = e.Spec.Key;
            if (_looks.MayRun(key)) { if (e.Gate != LookGate.Open) open.Add(e.Id); }
            else if (_looks.NeverRuns(key)) { if (e.Gate != LookGate.Skipped) skipped.Add(e.Id); }
            else if (e.Gate != LookGate.Waiting) waiting.Add(e.Id);
        }
        _scheduler.Hold(waiting);
        _scheduler.Skip(skipped);
        return _scheduler.Open(open, now);
    }

    AssignTrial Assignment(Offer offer) => new(_board[offer.TrialId].Spec, offer.Attempt, _board[offer.TrialId].State.ResumeCandidates,
        _plan.CheckpointEvery, _plan.CheckpointDir);

    static string TrialOf(SchedulerAction action) => action switch
    {
        StartOn a => a.TrialId,
        Offer a => a.TrialId,
        OfferPack a => a.Members[0].TrialId,
        Release a => a.TrialId,
        Finish a => a.TrialId,
        Retry a => a.TrialId,
        Requeued a => a.TrialId,
        _ => throw new ArgumentException($"unknown scheduler action {action.GetType().Name}"),
    };

    void CheckDone()
    {
        if (_reportAsked || _ended || _deciding.Count > 0 || !_board.AllFinished) return;
        _reportAsked = true;
        Notify(o => o.OnAllFinished(View()));
        _reportWriter.Tell(new ReportWriter.WriteReport(_board.Trials));
    }

    /// <summary>An observer that throws must not stop scheduling: it is logged. A full disk (under the run folder)
    /// ends the run instead: every later write would fail too, and what is written so far stays as it is.</summary>
    void Notify(Action<IRunObserver> call)
    {
        foreach (var observer in _observers)
        {
            if (_ended) return;
            try { call(observer); }
            catch (Exception e) when (DiskFull.Is(e)) { EndRun(e); }
            catch (Exception e) { _log.Error(e, "Observer {0} failed", observer.GetType().Name); }
        }
    }

    RunView View() => new(_board.Trials, _workers.Count, EstimateRemaining(), _looks?.All);

    /// <summary>Remaining cost over the cost finished per second so far in this process (running trials count by the
    /// fraction of their epochs done).</summary>
    TimeSpan? EstimateRemaining()
    {
        double partial = 0, remaining = 0, finishedHere = 0;
        foreach (var e in _board.Trials)
        {
            var cost = _scheduler.Cost(e.Id);
            switch (e.Status)
            {
                case BoardStatus.Running:
                    var done = Math.Min(1.0, e.State.Epochs.Count / (double)e.Spec.Recipe.Epochs);
                    partial += done * cost;
                    remaining += (1 - done) * cost;
                    break;
                case BoardStatus.Queued or BoardStatus.Waiting:   // a waiting trial may run: the ETA assumes it does
                    remaining += cost;
                    break;
                case BoardStatus.Skipped:
                    break;
                default:
                    if (!e.Recovered) finishedHere += cost;
                    break;
            }
        }
        if (remaining == 0) return TimeSpan.Zero;
        // Costs are taken on the workers' kind now, so a run whose workers changed kind keeps one unit throughout.
        var rate = (finishedHere + partial) / (DateTimeOffset.UtcNow - _startedAt).TotalSeconds;
        return rate > 0 ? TimeSpan.FromSeconds(remaining / rate) : null;
    }
}
