using SamCluster.Experiment.Grid;
using SamCluster.Messages;
using SamCluster.Experiment;

namespace SamCluster.Coordinator.Lifecycle;

/// <summary>In which order queued trials are handed out, and what a trial is expected to cost (for the ETA), on workers
/// of the given kind.</summary>
public interface ITrialOrderPolicy
{
    IReadOnlyList<TrialSpec> Order(IEnumerable<TrialSpec> trials, DeviceClass devices);
    double Cost(TrialSpec trial, DeviceClass devices);
}

/// <summary>Longest expected first (LPT list scheduling), so the grid does not end waiting on a long trial started last.</summary>
public sealed class LongestFirstOrder : ITrialOrderPolicy
{
    public static readonly LongestFirstOrder Instance = new();
    public IReadOnlyList<TrialSpec> Order(IEnumerable<TrialSpec> trials, DeviceClass devices) => TrialOrder.LongestFirst(trials, devices);
    public double Cost(TrialSpec trial, DeviceClass devices) => TrialOrder.EstimatedCost(trial, devices);
}

/// <param name="MaxRetries">Failed attempts retried per trial (with the same seed) before it is reported failed.</param>
/// <param name="AckTimeout">How long a hand-out may wait for the entity to number it and the worker to accept it.</param>
/// <param name="LeaseTimeout">How long a running attempt lives without an epoch report or a lease renewal.</param>
/// <param name="Pack">The grid's `pack` key: the most trials of one cell a worker that packs as the grid says gets at once.</param>
public sealed record SchedulerOptions(int MaxRetries, TimeSpan AckTimeout, TimeSpan LeaseTimeout, int Pack = 1)
{
    public static readonly SchedulerOptions Default = new(1, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(90));
}

/// <summary>What the coordinator must do on the scheduler's behalf.</summary>
public abstract record SchedulerAction;

/// <summary>Ask the trial's entity to start an attempt on this worker (it numbers the attempt).</summary>
public sealed record StartOn(string TrialId, string Worker) : SchedulerAction;

/// <summary>Hand the numbered attempt to the worker.</summary>
public sealed record Offer(string TrialId, int Attempt, string Worker) : SchedulerAction;

/// <summary>Hand these numbered attempts (the repeats of one cell, two or more) to their worker as one pack.</summary>
public sealed record OfferPack(IReadOnlyList<Offer> Members) : SchedulerAction
{
    public string Worker => Members[0].Worker;
}

/// <summary>Tell the entity the attempt is given up, and the worker (if any) that it is superseded.</summary>
public sealed record Release(string TrialId, int Attempt, string? Worker, string Why) : SchedulerAction;

/// <summary>The trial is finished for good (completed, or failed beyond the retry budget).</summary>
public sealed record Finish(string TrialId, bool Completed) : SchedulerAction;

/// <summary>A failed attempt goes back to the queue (same seed).</summary>
public sealed record Retry(string TrialId, int Failures) : SchedulerAction;

/// <summary>A trial goes back to the queue for a reason other than its own failure.</summary>
public sealed record Requeued(string TrialId, string Why) : SchedulerAction;

/// <summary>
/// Which trial runs where, as a pure policy object (no actors, no clock: callers pass the time). It writes the trials'
/// hand-outs and outcomes into the <see cref="TrialBoard"/> (the one place a trial's status lives) and owns what only
/// scheduling needs: the queue (in the order policy's order; trials that come back go to the front: they have waited
/// longest and are among the longest), the workers' availability (a worker that says it is free gets at most one trial,
/// and nothing more until it says so again), the leases' deadlines (a hand-out must be numbered and accepted within the
/// acknowledgement timeout; a running attempt must report or renew within the lease timeout) and the retry budget. Every
/// input returns the actions it calls for; nothing is dropped silently: each hand-out ends accepted, released or finished.
/// A worker that packs gets up to its pack size of queued trials of one cell (same dataset, model, optimizer, recipe;
/// other repeats) as one hand-out: each member is still its own trial (numbered, accepted, leased, released, finished on
/// its own); the pack is offered once every member still in it is numbered. A trial that fails in a pack of two or more
/// runs alone from then on (the pack may be what failed it), within the same retry budget.
/// </summary>
public sealed class GridScheduler
{
    readonly TrialBoard _board;
    readonly LinkedList<string> _queue = new();
    readonly HashSet<string> _putBack = new();   // came back to the queue (retry, lost worker): keeps its front through a re-ordering
    readonly HashSet<string> _workers = new();
    readonly LinkedList<string> _ready = new();
    readonly Dictionary<string, DeviceClass> _deviceOf = new();
    readonly Dictionary<string, int> _packSizeOf = new();          // workers that pack: the most trials per hand-out
    readonly Dictionary<string, PackHandOut> _packOf = new();      // trial → the pack it was handed out in (two or more)
    readonly HashSet<string> _alone = new();                       // failed in a pack: runs alone from then on
    readonly ITrialOrderPolicy _order;

    public GridScheduler(TrialBoard board, ITrialOrderPolicy order, SchedulerOptions options)
    {
        Options = options;
        _board = board;
        _order = order;
        foreach (var t in order.Order(board.Trials.Select(e => e.Spec), Devices)) _queue.AddLast(t.Key.Id);
    }

    /// <summary>A scheduler over a board of its own (tests; the coordinator shares its board).</summary>
    public GridScheduler(IEnumerable<TrialSpec> trials, ITrialOrderPolicy order, SchedulerOptions options)
        : this(new TrialBoard(trials), order, options) { }

    public TrialBoard Board => _board;

    /// <summary>What most of the workers that have said so train on (a CPU until a worker says otherwise). The queue's
    /// order and every cost follow it: on a GPU, Fashion-MNIST's many small steps outlast Stanford Dogs' few large ones.</summary>
    public DeviceClass Devices { get; private set; } = DeviceClass.Cpu;

    /// <summary>The trial's expected cost on <see cref="Devices"/>, for the ETA.</summary>
    public double Cost(string trialId) => _order.Cost(_board[trialId].Spec, Devices);

    SchedulerOptions Options { get; }
    public IReadOnlyCollection<string> QueuedTrials => _queue;

    /// <summary>What the journal says on start: the board takes every trial's state, and finished trials leave the
    /// queue. Unfinished ones stay queued, running or not: their old attempts are superseded when next handed out.</summary>
    public void Restore(IEnumerable<TrialState> states)
    {
        var read = states.ToList();
        _board.Restore(read);
        foreach (var s in read.Where(s => _board.Knows(s.TrialId) && IsFinal(s)))
        {
            _board.Finish(s.TrialId, s.Status == TrialStatus.Completed, recovered: true);
            _queue.Remove(s.TrialId);
        }
    }

    /// <summary>Completed, or failed with the retry budget spent.</summary>
    bool IsFinal(TrialState s) =>
        s.Status == TrialStatus.Completed || (s.Status == TrialStatus.Failed && s.Failures > Options.MaxRetries);

    /// <summary>Sequential studies: trials of a later look wait for their comparison's decision, out of the queue.</summary>
    public void Hold(IEnumerable<string> trialIds)
    {
        foreach (var id in trialIds.Where(id => _board[id] is { IsFinished: false, HandOut: null }))
        {
            _board.SetGate(id, LookGate.Waiting);
            _queue.Remove(id);
            _putBack.Remove(id);
        }
    }

    /// <summary>A decision opened these trials' look: they join the queue behind what is queued, in the order policy's order.</summary>
    public IReadOnlyList<SchedulerAction> Open(IEnumerable<string> trialIds, DateTimeOffset now)
    {
        var opened = trialIds.Where(id => _board[id] is { IsFinished: false, Gate: not LookGate.Open }).ToList();
        foreach (var id in opened) _board.SetGate(id, LookGate.Open);
        foreach (var t in _order.Order(opened.Select(id => _board[id].Spec), Devices)) _queue.AddLast(t.Key.Id);
        return Dispatch(now);
    }

    /// <summary>Every comparison these trials serve has stopped before their look: they will not run.</summary>
    public void Skip(IEnumerable<string> trialIds)
    {
        foreach (var id in trialIds.Where(id => _board[id] is { IsFinished: false, HandOut: null }))
        {
            _board.SetGate(id, LookGate.Skipped);
            _queue.Remove(id);
            _putBack.Remove(id);
        }
    }

    /// <param name="device">The worker's device ("cpu", "cuda:0"), when known: it decides <see cref="Devices"/>.</param>
    /// <param name="pack">The worker's <see cref="WorkerReady.Pack"/>: null takes one trial at a time,
    /// <see cref="WorkerReady.PackAsGridSays"/> the grid's <see cref="SchedulerOptions.Pack"/>, else at most this many.</param>
    public IReadOnlyList<SchedulerAction> OnWorkerReady(string worker, DateTimeOffset now, string? device = null, int? pack = null)
    {
        _workers.Add(worker);
        _packSizeOf[worker] = pack switch
        {
            null => 1,
            WorkerReady.PackAsGridSays => Math.Max(1, Options.Pack),
            _ => Math.Max(1, pack.Value),
        };
        if (device is not null && TrialOrder.ClassOf(device) is var kind && (!_deviceOf.TryGetValue(worker, out var known) || known != kind))
        {
            _deviceOf[worker] = kind;
            UpdateDevices();
        }
        // A worker that says it is free while it holds a trial is ahead of that trial's outcome (which reaches us
        // through the entity, by another path) or resent its ask across our hand-out: it asks again once idle.
        if (!Holds(worker) && !_ready.Contains(worker)) _ready.AddLast(worker);
        return Dispatch(now);
    }

    public IReadOnlyList<SchedulerAction> OnWorkerLost(string worker, string why, DateTimeOffset now)
    {
        _workers.Remove(worker);
        _ready.Remove(worker);
        _packSizeOf.Remove(worker);
        if (_deviceOf.Remove(worker)) UpdateDevices();
        var actions = new List<SchedulerAction>();
        foreach (var e in _board.Trials.Where(e => e.HandOut?.Worker == worker))
            actions.AddRange(GiveUp(e.Id, e.HandOut!, why, tellWorker: false));
        actions.AddRange(Dispatch(now));
        return actions;
    }

    /// <summary>The entity numbered an attempt. Only the hand-out we asked for is offered; anything else is released.</summary>
    public IReadOnlyList<SchedulerAction> OnAttemptStarted(string trialId, int attempt, string worker, DateTimeOffset now)
    {
        if (!_board.Knows(trialId)) return [];
        if (_board[trialId].HandOut is not { Stage: HandOutStage.Starting } handOut || handOut.Worker != worker)
            return [new Release(trialId, attempt, null, "not handed out by this coordinator")];
        if (!_workers.Contains(worker))
            return [new Release(trialId, attempt, null, "its worker was lost before the hand-out"), .. Requeue(trialId, "its worker was lost"), .. Dispatch(now)];
        _board.SetHandOut(trialId, handOut with { Stage = HandOutStage.Offered, Attempt = attempt, Deadline = now + Options.AckTimeout });
        return _packOf.TryGetValue(trialId, out var pack) ? OfferWhenNumbered(pack) : [new Offer(trialId, attempt, worker)];
    }

    /// <summary>The entity refused to start the trial: it is completed already (an outcome this coordinator missed).</summary>
    public IReadOnlyList<SchedulerAction> OnStartRefused(string trialId, DateTimeOffset now)
    {
        if (!_board.Knows(trialId) || _board[trialId].IsFinished) return [];
        var worker = _board[trialId].HandOut is { Stage: HandOutStage.Starting } starting ? starting.Worker : null;
        var pack = _packOf.GetValueOrDefault(trialId);
        MarkDone(trialId, completed: true);
        // It never got the trial: free again, unless the rest of its pack is still on its way to it.
        if (worker != null && _workers.Contains(worker) && !_ready.Contains(worker) && !Holds(worker)) _ready.AddFirst(worker);
        return [new Finish(trialId, true), .. pack is null ? [] : OfferWhenNumbered(pack), .. Dispatch(now)];
    }

    public void OnAccepted(string trialId, int attempt, DateTimeOffset now)
    {
        if (Current(trialId, attempt) is not { Stage: HandOutStage.Offered } handOut) return;
        _board.SetHandOut(trialId, handOut with { Stage = HandOutStage.Running, Deadline = now + Options.LeaseTimeout });
    }

    /// <summary>An epoch report or a lease renewal of the current attempt.</summary>
    public void OnProgress(string trialId, int attempt, DateTimeOffset now)
    {
        if (Current(trialId, attempt) is { Stage: HandOutStage.Running } handOut)
            _board.SetHandOut(trialId, handOut with { Deadline = now + Options.LeaseTimeout });
    }

    /// <summary>The entity released the current attempt (its worker refused it): back to the front of the queue. The
    /// worker gets nothing more until it says it is free.</summary>
    public IReadOnlyList<SchedulerAction> OnReleased(string trialId, int attempt, string why, DateTimeOffset now)
    {
        if (Current(trialId, attempt) is null) return [];
        return [.. Requeue(trialId, why), .. Dispatch(now)];
    }

    /// <summary>An attempt's outcome is journaled; <paramref name="failures"/> counts the trial's failed attempts so far.</summary>
    public IReadOnlyList<SchedulerAction> OnOutcome(string trialId, int attempt, bool completed, int failures, DateTimeOffset now)
    {
        if (!_board.Knows(trialId) || _board[trialId].IsFinished) return [];
        // The entity takes outcomes of its current attempt only; a completion is final whichever hand-out we think is out.
        if (!completed && Current(trialId, attempt) is null) return [];
        var actions = new List<SchedulerAction>();
        if (completed)
        {
            MarkDone(trialId, completed: true);
            actions.Add(new Finish(trialId, true));
        }
        else if (failures <= Options.MaxRetries)
        {
            if (_packOf.TryGetValue(trialId, out var pack) && pack.OfferedSize > 1) _alone.Add(trialId);
            PutBack(trialId);
            actions.Add(new Retry(trialId, failures));
        }
        else
        {
            MarkDone(trialId, completed: false);
            actions.Add(new Finish(trialId, false));
        }
        actions.AddRange(Dispatch(now));
        return actions;
    }

    /// <summary>Hand-outs not acknowledged and leases not renewed by <paramref name="now"/> are given up; their workers
    /// get nothing more until they say they are free.</summary>
    public IReadOnlyList<SchedulerAction> OnTick(DateTimeOffset now)
    {
        var actions = new List<SchedulerAction>();
        foreach (var e in _board.Trials.Where(e => e.HandOut is { } h && h.Deadline <= now))
        {
            var why = e.HandOut!.Stage == HandOutStage.Running
                ? $"its lease expired (no report for {Options.LeaseTimeout.TotalSeconds:0} s)"
                : $"the hand-out was not acknowledged within {Options.AckTimeout.TotalSeconds:0} s";
            actions.AddRange(GiveUp(e.Id, e.HandOut, why, tellWorker: true));
        }
        if (actions.Count > 0) actions.AddRange(Dispatch(now));
        return actions;
    }

    IEnumerable<SchedulerAction> GiveUp(string trialId, HandOut handOut, string why, bool tellWorker)
    {
        // Not numbered yet (Starting): if the entity numbers it later, OnAttemptStarted releases that attempt.
        IEnumerable<SchedulerAction> release = handOut.Stage == HandOutStage.Starting
            ? []
            : [new Release(trialId, handOut.Attempt, tellWorker ? handOut.Worker : null, why)];
        return [.. release, .. Requeue(trialId, why)];
    }

    IEnumerable<SchedulerAction> Requeue(string trialId, string why)
    {
        var pack = _packOf.GetValueOrDefault(trialId);
        PutBack(trialId);
        return [new Requeued(trialId, why), .. pack is null ? [] : OfferWhenNumbered(pack)];
    }

    /// <summary>The trials handed out together to one worker, and whether they were offered yet: a pack is offered
    /// once, when no member still in it waits for its entity's number.</summary>
    sealed class PackHandOut(string worker, IEnumerable<string> members)
    {
        public string Worker { get; } = worker;
        public List<string> Members { get; } = members.ToList();
        /// <summary>Members when it was offered; 0 until then.</summary>
        public int OfferedSize { get; set; }
    }

    IReadOnlyList<SchedulerAction> OfferWhenNumbered(PackHandOut pack)
    {
        if (pack.OfferedSize > 0 || pack.Members.Count == 0) return [];
        var handOuts = pack.Members.Select(id => _board[id].HandOut).ToList();
        if (handOuts.Any(h => h is not { Stage: HandOutStage.Offered })) return [];
        pack.OfferedSize = pack.Members.Count;
        var offers = pack.Members.Zip(handOuts, (id, h) => new Offer(id, h!.Attempt, pack.Worker)).ToList();
        return offers.Count == 1 ? [offers[0]] : [new OfferPack(offers)];
    }

    /// <summary>Same dataset, model, optimizer and recipe cell (so the same recipe and data): repeats of one cell, which
    /// a worker may train as one pack.</summary>
    static bool SameCell(TrialSpec a, TrialSpec b) =>
        a.Key.Dataset == b.Key.Dataset && a.Key.Model == b.Key.Model && a.Key.Optimizer == b.Key.Optimizer
        && a.Key.Cell == b.Key.Cell && a.Recipe == b.Recipe && a.Data == b.Data;

    /// <summary>Re-orders the queue when the workers' kind changes; trials put back keep the front, in their order.</summary>
    void UpdateDevices()
    {
        if (_deviceOf.Count == 0) return;   // no worker left says: keep what was
        var gpus = _deviceOf.Values.Count(d => d == DeviceClass.Gpu);
        var devices = gpus * 2 > _deviceOf.Count ? DeviceClass.Gpu : DeviceClass.Cpu;
        if (devices == Devices) return;
        Devices = devices;
        var putBack = _queue.Where(_putBack.Contains).ToList();
        var fresh = _order.Order(_queue.Where(id => !_putBack.Contains(id)).Select(id => _board[id].Spec), devices).Select(t => t.Key.Id);
        _queue.Clear();
        foreach (var id in putBack.Concat(fresh)) _queue.AddLast(id);
    }

    void PutBack(string trialId)
    {
        LeavePack(trialId);
        _board.SetHandOut(trialId, null);
        _putBack.Add(trialId);
        _queue.Remove(trialId);
        _queue.AddFirst(trialId);
    }

    IReadOnlyList<SchedulerAction> Dispatch(DateTimeOffset now)
    {
        var actions = new List<SchedulerAction>();
        while (_ready.Count > 0 && _queue.Count > 0)
        {
            var worker = _ready.First!.Value;
            _ready.RemoveFirst();
            var first = _queue.First!.Value;
            List<string> members = [first];
            var size = _packSizeOf.GetValueOrDefault(worker, 1);
            if (size > 1 && !_alone.Contains(first))
            {
                var spec = _board[first].Spec;
                members.AddRange(_queue.Skip(1).Where(id => !_alone.Contains(id) && SameCell(spec, _board[id].Spec)).Take(size - 1));
            }
            if (members.Count > 1)
            {
                var pack = new PackHandOut(worker, members);
                foreach (var id in members) _packOf[id] = pack;
            }
            foreach (var trialId in members)
            {
                _queue.Remove(trialId);
                _putBack.Remove(trialId);
                _board.SetHandOut(trialId, new HandOut(worker, HandOutStage.Starting, 0, now + Options.AckTimeout));
                actions.Add(new StartOn(trialId, worker));
            }
        }
        return actions;
    }

    /// <summary>The trial is out of its pack (back in the queue, or finished); the others go on.</summary>
    void LeavePack(string trialId)
    {
        if (_packOf.Remove(trialId, out var pack)) pack.Members.Remove(trialId);
    }

    bool Holds(string worker) => _board.Trials.Any(e => e.HandOut?.Worker == worker);

    void MarkDone(string trialId, bool completed)
    {
        LeavePack(trialId);
        _alone.Remove(trialId);
        _board.Finish(trialId, completed);
        _putBack.Remove(trialId);
        _queue.Remove(trialId);
    }

    /// <summary>The hand-out of <paramref name="attempt"/> when it is the trial's current one (offered or running).</summary>
    HandOut? Current(string trialId, int attempt) =>
        _board.Knows(trialId) && _board[trialId].HandOut is { Stage: HandOutStage.Offered or HandOutStage.Running } h && h.Attempt == attempt ? h : null;
}
