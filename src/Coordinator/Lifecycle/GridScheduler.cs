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
public sealed record SchedulerOptions(int MaxRetries, TimeSpan AckTimeout, TimeSpan LeaseTimeout)
{
    public static readonly SchedulerOptions Default = new(1, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(90));
}

/// <summary>What the coordinator must do on the scheduler's behalf.</summary>
public abstract record SchedulerAction;

/// <summary>Ask the trial's entity to start an attempt on this worker (it numbers the attempt).</summary>
public sealed record StartOn(string TrialId, string Worker) : SchedulerAction;

/// <summary>Hand the numbered attempt to the worker.</summary>
public sealed record Offer(string TrialId, int Attempt, string Worker) : SchedulerAction;

/// <summary>Tell the entity the attempt is given up, and the worker (if any) that it is superseded.</summary>
public sealed record Release(string TrialId, int Attempt, string? Worker, string Why) : SchedulerAction;

/// <summary>The trial is finished for good (completed, or failed beyond the retry budget).</summary>
public sealed record Finish(string TrialId, bool Completed) : SchedulerAction;

/// <summary>A failed attempt goes back to the queue (same seed).</summary>
public sealed record Retry(string TrialId, int Failures) : SchedulerAction;

/// <summary>A trial goes back to the queue for a reason other than its own failure.</summary>
public sealed record Requeued(string TrialId, string Why) : SchedulerAction;

/// <summary>
/// Which trial runs where, as a pure policy object (no actors, no clock: callers pass the time). It owns the queue (in
/// the order policy's order; trials that come back go to the front: they have waited longest and are among the
/// longest), the workers' availability (a worker that says it is free gets at most one trial, and nothing more until
/// it says so again), the leases (a hand-out must be numbered and accepted within the acknowledgement timeout; a
/// running attempt must report or renew within the lease timeout) and the retry budget. Every input returns the
/// actions it calls for; nothing is dropped silently: each hand-out ends accepted, released or finished.
/// </summary>
public sealed class GridScheduler
{
    enum Stage { Queued, Starting, Offered, Running, Done }

    sealed class Placement
    {
        public Stage Stage = Stage.Queued;
        public string? Worker;
        public int Attempt;
        public DateTimeOffset Deadline;
        public bool Completed;
        public bool PutBack;   // came back to the queue (retry, lost worker): stays at its front through a re-ordering
        public bool IsOut => Stage is Stage.Starting or Stage.Offered or Stage.Running;
    }

    readonly Dictionary<string, TrialSpec> _specs;
    readonly Dictionary<string, Placement> _trials;
    readonly LinkedList<string> _queue = new();
    readonly HashSet<string> _workers = new();
    readonly LinkedList<string> _ready = new();
    readonly Dictionary<string, DeviceClass> _deviceOf = new();
    readonly ITrialOrderPolicy _order;

    public GridScheduler(IEnumerable<TrialSpec> trials, ITrialOrderPolicy order, SchedulerOptions options)
    {
        Options = options;
        _order = order;
        var ordered = order.Order(trials, Devices);
        _specs = ordered.ToDictionary(t => t.Key.Id);
        _trials = ordered.ToDictionary(t => t.Key.Id, _ => new Placement());
        foreach (var t in ordered) _queue.AddLast(t.Key.Id);
    }

    /// <summary>What most of the workers that have said so train on (a CPU until a worker says otherwise). The queue's
    /// order and every cost follow it: on a GPU, Fashion-MNIST's many small steps outlast Stanford Dogs' few large ones.</summary>
    public DeviceClass Devices { get; private set; } = DeviceClass.Cpu;

    /// <summary>The trial's expected cost on <see cref="Devices"/>, for the ETA.</summary>
    public double Cost(string trialId) => _order.Cost(_specs[trialId], Devices);

    SchedulerOptions Options { get; }
    public TrialSpec Spec(string trialId) => _specs[trialId];
    public bool Knows(string trialId) => _specs.ContainsKey(trialId);

    public int Total => _trials.Count;
    public int Finished => _trials.Values.Count(p => p.Stage == Stage.Done);
    public int Completed => _trials.Values.Count(p => p.Stage == Stage.Done && p.Completed);
    public bool AllFinished => _trials.Values.All(p => p.Stage == Stage.Done);
    public IReadOnlyCollection<string> QueuedTrials => _queue;
    public IReadOnlyList<string> RunningTrials => _trials.Where(t => t.Value.IsOut).Select(t => t.Key).ToList();
    public bool IsFinished(string trialId) => _trials[trialId].Stage == Stage.Done;

    /// <summary>The worker running (or being handed) the trial, if any.</summary>
    public string? WorkerOf(string trialId) => _trials.TryGetValue(trialId, out var p) && p.IsOut ? p.Worker : null;

    /// <summary>What the journal says on start: finished trials leave the queue. Unfinished ones stay queued, running
    /// or not: their old attempts are superseded when they are next handed out.</summary>
    public void Restore(IEnumerable<TrialState> states)
    {
        foreach (var s in states)
            if (_trials.TryGetValue(s.TrialId, out var p) && IsFinal(s))
                MarkDone(s.TrialId, p, s.Status == TrialStatus.Completed);
    }

    /// <summary>Completed, or failed with the retry budget spent.</summary>
    public bool IsFinal(TrialState s) =>
        s.Status == TrialStatus.Completed || (s.Status == TrialStatus.Failed && s.Failures > Options.MaxRetries);

    /// <param name="device">The worker's device ("cpu", "cuda:0"), when known: it decides <see cref="Devices"/>.</param>
    public IReadOnlyList<SchedulerAction> OnWorkerReady(string worker, DateTimeOffset now, string? device = null)
    {
        _workers.Add(worker);
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
        if (_deviceOf.Remove(worker)) UpdateDevices();
        var actions = new List<SchedulerAction>();
        foreach (var (id, p) in _trials.Where(t => t.Value.Worker == worker && t.Value.IsOut).ToList())
            actions.AddRange(GiveUp(id, p, why, tellWorker: false));
        actions.AddRange(Dispatch(now));
        return actions;
    }

    /// <summary>The entity numbered an attempt. Only the hand-out we asked for is offered; anything else is released.</summary>
    public IReadOnlyList<SchedulerAction> OnAttemptStarted(string trialId, int attempt, string worker, DateTimeOffset now)
    {
        if (!_trials.TryGetValue(trialId, out var p)) return [];
        if (p.Stage != Stage.Starting || p.Worker != worker)
            return [new Release(trialId, attempt, null, "not handed out by this coordinator")];
        if (!_workers.Contains(worker))
            return [new Release(trialId, attempt, null, "its worker was lost before the hand-out"), .. Requeue(trialId, p, "its worker was lost"), .. Dispatch(now)];
        p.Stage = Stage.Offered;
        p.Attempt = attempt;
        p.Deadline = now + Options.AckTimeout;
        return [new Offer(trialId, attempt, worker)];
    }

    /// <summary>The entity refused to start the trial: it is completed already (an outcome this coordinator missed).</summary>
    public IReadOnlyList<SchedulerAction> OnStartRefused(string trialId, DateTimeOffset now)
    {
        if (!_trials.TryGetValue(trialId, out var p) || p.Stage == Stage.Done) return [];
        var worker = p.Stage == Stage.Starting ? p.Worker : null;
        MarkDone(trialId, p, completed: true);
        if (worker != null && _workers.Contains(worker) && !_ready.Contains(worker)) _ready.AddFirst(worker); // it never got the trial
        return [new Finish(trialId, true), .. Dispatch(now)];
    }

    public void OnAccepted(string trialId, int attempt, DateTimeOffset now)
    {
        if (!IsCurrent(trialId, attempt, out var p) || p.Stage != Stage.Offered) return;
        p.Stage = Stage.Running;
        p.Deadline = now + Options.LeaseTimeout;
    }

    /// <summary>An epoch report or a lease renewal of the current attempt.</summary>
    public void OnProgress(string trialId, int attempt, DateTimeOffset now)
    {
        if (IsCurrent(trialId, attempt, out var p) && p.Stage == Stage.Running) p.Deadline = now + Options.LeaseTimeout;
    }

    /// <summary>The entity released the current attempt (its worker refused it): back to the front of the queue. The
    /// worker gets nothing more until it says it is free.</summary>
    public IReadOnlyList<SchedulerAction> OnReleased(string trialId, int attempt, string why, DateTimeOffset now)
    {
        if (!IsCurrent(trialId, attempt, out var p)) return [];
        return [.. Requeue(trialId, p, why), .. Dispatch(now)];
    }

    /// <summary>An attempt's outcome is journaled; <paramref name="failures"/> counts the trial's failed attempts so far.</summary>
    public IReadOnlyList<SchedulerAction> OnOutcome(string trialId, int attempt, bool completed, int failures, DateTimeOffset now)
    {
        if (!_trials.TryGetValue(trialId, out var p) || p.Stage == Stage.Done) return [];
        // The entity takes outcomes of its current attempt only; a completion is final whichever hand-out we think is out.
        if (!completed && !IsCurrent(trialId, attempt, out _)) return [];
        var actions = new List<SchedulerAction>();
        if (completed)
        {
            MarkDone(trialId, p, completed: true);
            actions.Add(new Finish(trialId, true));
        }
        else if (failures <= Options.MaxRetries)
        {
            PutBack(trialId, p);
            actions.Add(new Retry(trialId, failures));
        }
        else
        {
            MarkDone(trialId, p, completed: false);
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
        foreach (var (id, p) in _trials.Where(t => t.Value.IsOut && t.Value.Deadline <= now).ToList())
        {
            var why = p.Stage == Stage.Running
                ? $"its lease expired (no report for {Options.LeaseTimeout.TotalSeconds:0} s)"
                : $"the hand-out was not acknowledged within {Options.AckTimeout.TotalSeconds:0} s";
            actions.AddRange(GiveUp(id, p, why, tellWorker: true));
        }
        if (actions.Count > 0) actions.AddRange(Dispatch(now));
        return actions;
    }

    IEnumerable<SchedulerAction> GiveUp(string trialId, Placement p, string why, bool tellWorker)
    {
        // Not numbered yet (Starting): if the entity numbers it later, OnAttemptStarted releases that attempt.
        IEnumerable<SchedulerAction> release = p.Stage == Stage.Starting ? [] : [new Release(trialId, p.Attempt, tellWorker ? p.Worker : null, why)];
        return [.. release, .. Requeue(trialId, p, why)];
    }

    IEnumerable<SchedulerAction> Requeue(string trialId, Placement p, string why)
    {
        PutBack(trialId, p);
        return [new Requeued(trialId, why)];
    }

    /// <summary>Re-orders the queue when the workers' kind changes; trials put back keep the front, in their order.</summary>
    void UpdateDevices()
    {
        if (_deviceOf.Count == 0) return;   // no worker left says: keep what was
        var gpus = _deviceOf.Values.Count(d => d == DeviceClass.Gpu);
        var devices = gpus * 2 > _deviceOf.Count ? DeviceClass.Gpu : DeviceClass.Cpu;
        if (devices == Devices) return;
        Devices = devices;
        var putBack = _queue.Where(id => _trials[id].PutBack).ToList();
        var fresh = _order.Order(_queue.Where(id => !_trials[id].PutBack).Select(id => _specs[id]), devices).Select(t => t.Key.Id);
        _queue.Clear();
        foreach (var id in putBack.Concat(fresh)) _queue.AddLast(id);
    }

    void PutBack(string trialId, Placement p)
    {
        Reset(p);
        p.PutBack = true;
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
            var trialId = _queue.First!.Value;
            _queue.RemoveFirst();
            var p = _trials[trialId];
            p.PutBack = false;
            p.Stage = Stage.Starting;
            p.Worker = worker;
            p.Attempt = 0;
            p.Deadline = now + Options.AckTimeout;
            actions.Add(new StartOn(trialId, worker));
        }
        return actions;
    }

    bool Holds(string worker) => _trials.Values.Any(p => p.Worker == worker && p.IsOut);

    void MarkDone(string trialId, Placement p, bool completed)
    {
        Reset(p);
        p.Stage = Stage.Done;
        p.Completed = completed;
        _queue.Remove(trialId);
    }

    static void Reset(Placement p)
    {
        p.Stage = Stage.Queued;
        p.Worker = null;
        p.Attempt = 0;
        p.Deadline = default;
    }

    bool IsCurrent(string trialId, int attempt, out Placement p) =>
        _trials.TryGetValue(trialId, out p!) && p.Attempt == attempt && p.Stage is Stage.Offered or Stage.Running;
}
