using Akka.Actor;
using Akka.Event;
using SamCluster.Coordinator.Reporting;
using SamCluster.Coordinator.Run;
using SamCluster.Messages;

namespace SamCluster.Coordinator.Actors;

/// <summary>The grid to run: trials in hand-out order (longest expected first) and how to treat failures.</summary>
/// <param name="EstimatedCost">Relative cost of a trial, for the ETA.</param>
public sealed record GridPlan(IReadOnlyList<TrialSpec> Trials, int MaxRetries, Func<TrialSpec, double> EstimatedCost);

/// <summary>Completes when the grid is done and the report written; the host waits on it to exit.</summary>
public sealed class RunCompletion
{
    readonly TaskCompletionSource<GridCoordinator.GridFinished> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public Task<GridCoordinator.GridFinished> Task => _done.Task;
    public void Finish(GridCoordinator.GridFinished outcome) => _done.TrySetResult(outcome);
    public void Fail(Exception e) => _done.TrySetException(e);
}

/// <summary>
/// Hands the grid's trials to workers by work pulling: a worker asks (<see cref="WorkerReady"/>) when its slot is free
/// and gets at most one trial, so no worker ever holds more trials than it has slots. Learns outcomes from the trial
/// entities, retries failed attempts with the same seed up to the budget, puts a lost worker's trial back at the front of
/// the queue, keeps trials.csv / epochs.csv current, shows progress, and asks the aggregator for the report when every
/// trial has finished. On start it reads each trial's state back from the journal, so a restarted coordinator runs only
/// what is unfinished.
/// </summary>
public sealed class GridCoordinator : ReceiveActor, IWithUnboundedStash, IWithTimers
{
    // ---- protocol (local to the coordinator process) ----
    /// <summary>Reply: a snapshot of where the grid stands.</summary>
    public sealed record GetProgress
    {
        public static readonly GetProgress Instance = new();
    }

    public sealed record Progress(int Total, int Completed, int Failed, int Running, int Queued, int Workers, TimeSpan? Eta,
        IReadOnlyList<TrialState> RunningTrials);

    /// <summary>Aggregator → coordinator: the report is written.</summary>
    public sealed record ReportWritten(string Table);

    /// <summary>The grid's end, given to <see cref="RunCompletion"/>.</summary>
    public sealed record GridFinished(int Completed, int Failed, int Recovered, string Table);

    sealed record Recovered(IReadOnlyList<TrialState> States);
    sealed record StartConfirmed(TrialSpec Trial, IActorRef Worker, int Attempt, TrialState State);
    sealed record StartNotConfirmed(TrialSpec Trial, IActorRef Worker, Exception Cause);
    sealed record ProgressTick;
    sealed record WorkerInfo(string Id, string Node, string Device)
    {
        public string Name => $"{Id}@{Node}/{Device}";
    }

    // ---- state ----
    readonly GridPlan _plan;
    readonly IActorRef _trials;
    readonly IActorRef _aggregator;
    readonly RunFolder _folder;
    readonly RunLog _log;
    readonly RunCompletion _completion;
    readonly ILoggingAdapter _akkaLog = Context.GetLogger();
    readonly Dictionary<string, TrialSpec> _specs;
    readonly LinkedList<TrialSpec> _queue = new();
    readonly Dictionary<IActorRef, WorkerInfo> _workers = new();
    readonly LinkedList<IActorRef> _idle = new();
    readonly Dictionary<string, (IActorRef Worker, int Attempt)> _running = new();
    readonly HashSet<IActorRef> _reserved = new();
    readonly HashSet<IActorRef> _askedWhileBusy = new();
    readonly Dictionary<string, TrialState> _latest = new();
    readonly Dictionary<string, FinishedTrial> _finished = new();
    readonly DateTime _startedAt = DateTime.UtcNow;
    int _recovered;
    double _costDoneHere;
    bool _reportAsked;
    string _lastProgressLine = "";
    DateTime _lastProgressAt = DateTime.MinValue;

    public IStash Stash { get; set; } = null!;
    public ITimerScheduler Timers { get; set; } = null!;

    public GridCoordinator(GridPlan plan, IActorRef trials, IActorRef aggregator, RunFolder folder, RunLog log,
        RunCompletion completion, TimeSpan progressInterval)
    {
        _plan = plan;
        _trials = trials;
        _aggregator = aggregator;
        _folder = folder;
        _log = log;
        _completion = completion;
        _specs = plan.Trials.ToDictionary(t => t.Key.Id);
        _progressInterval = progressInterval;
        Recovering();
    }

    public static Props Props(GridPlan plan, IActorRef trials, IActorRef aggregator, RunFolder folder, RunLog log,
        RunCompletion completion, TimeSpan progressInterval) =>
        Akka.Actor.Props.Create(() => new GridCoordinator(plan, trials, aggregator, folder, log, completion, progressInterval));

    readonly TimeSpan _progressInterval;

    protected override void PreStart()
    {
        Timers.StartPeriodicTimer("progress", new ProgressTick(), _progressInterval);
        AskAllTrialStates();
    }

    void AskAllTrialStates()
    {
        var asks = _plan.Trials.Select(t => _trials.Ask<TrialState>(new GetTrialState(t.Key.Id), TimeSpan.FromSeconds(60)));
        Task.WhenAll(asks).PipeTo(Self, success: states => new Recovered(states), failure: e => new Status.Failure(e));
    }

    void Recovering()
    {
        Receive<Recovered>(r =>
        {
            foreach (var state in r.States)
            {
                _latest[state.TrialId] = state;
                if (IsFinal(state)) _finished[state.TrialId] = new FinishedTrial(_specs[state.TrialId], state, state.Status == TrialStatus.Completed);
            }
            _recovered = _finished.Count;
            foreach (var spec in _plan.Trials.Where(t => !_finished.ContainsKey(t.Key.Id)))
                _queue.AddLast(spec);
            if (_folder.Resumed || _recovered > 0)
                _log.Main.Information("Recovered from the journal: {Recovered} of {Total} trials already finished ({Completed} completed, {Failed} failed); {Queued} queued again",
                    _recovered, _plan.Trials.Count, _finished.Values.Count(f => f.Completed), _finished.Values.Count(f => !f.Completed), _queue.Count);
            else
                _log.Main.Information("Grid of {Total} trials queued, longest expected first; waiting for workers", _plan.Trials.Count);
            WriteTables();
            Become(Ready);
            Stash.UnstashAll();
            Dispatch();
            CheckDone();
        });
        Receive<Status.Failure>(f =>
        {
            _akkaLog.Warning("Reading trial states from the journal failed ({0}); retrying", f.Cause.Message);
            Timers.StartSingleTimer("retry-recovery", new RetryRecovery(), TimeSpan.FromSeconds(2));
        });
        Receive<RetryRecovery>(_ => AskAllTrialStates());
        Receive<ProgressTick>(_ => { });
        ReceiveAny(_ => Stash.Stash());
    }

    sealed record RetryRecovery;

    void Ready()
    {
        Receive<WorkerReady>(OnWorkerReady);
        Receive<StartConfirmed>(OnStartConfirmed);
        Receive<StartNotConfirmed>(s =>
        {
            _reserved.Remove(s.Worker);
            _akkaLog.Warning("Could not record the start of {0} ({1}); back in the queue", s.Trial.Key.Id, s.Cause.Message);
            _queue.AddFirst(s.Trial);
            if (_workers.ContainsKey(s.Worker)) _idle.AddFirst(s.Worker);
            Dispatch();
        });
        Receive<TrialState>(OnTrialState);
        Receive<Terminated>(t => OnWorkerLost(t.ActorRef, "stopped or its node left the cluster"));
        Receive<ProgressTick>(_ => ShowProgress(force: false));
        Receive<GetProgress>(_ => Sender.Tell(CurrentProgress()));
        Receive<ReportWritten>(r =>
        {
            var completed = _finished.Values.Count(f => f.Completed);
            var failed = _finished.Count - completed;
            _log.Main.Information("Report written to {Folder} (report.md, report.json, report.csv, curves/)", _folder.Root);
            _completion.Finish(new GridFinished(completed, failed, _recovered, r.Table));
        });
        Receive<Status.Failure>(f =>
        {
            _log.Main.Error(f.Cause, "Writing the report failed");
            _completion.Fail(f.Cause);
        });
    }

    void OnWorkerReady(WorkerReady ready)
    {
        var worker = Sender;
        var info = new WorkerInfo(ready.WorkerId, ready.Node, ready.Device);
        if (_workers.TryAdd(worker, info))
        {
            Context.Watch(worker);
            _log.Main.Information("Worker {Worker} joined ({Workers} workers)", info.Name, _workers.Count);
        }
        // A resend that crossed our assignment, or a worker whose outcome we have not heard of yet: it gets work
        // as soon as its trial's outcome arrives (see ReleaseWorkerOf).
        if (_reserved.Contains(worker) || _running.Values.Any(r => r.Worker.Equals(worker)))
        {
            _askedWhileBusy.Add(worker);
            return;
        }
        if (!_idle.Contains(worker)) _idle.AddLast(worker);
        Dispatch();
    }

    /// <summary>Pairs idle workers with queued trials. The start is journaled before the worker is told, so a trial that
    /// finished meanwhile (a late outcome) is never handed out again.</summary>
    void Dispatch()
    {
        while (_idle.Count > 0 && _queue.Count > 0)
        {
            var worker = _idle.First!.Value;
            _idle.RemoveFirst();
            var trial = _queue.First!.Value;
            _queue.RemoveFirst();
            var info = _workers[worker];
            var attempt = (_latest.TryGetValue(trial.Key.Id, out var s) ? s.Attempt : 0) + 1;
            _reserved.Add(worker);
            _trials.Ask<TrialState>(new TrialStarted(trial.Key.Id, attempt, info.Id, info.Node, info.Device), TimeSpan.FromSeconds(30))
                .PipeTo(Self, success: st => new StartConfirmed(trial, worker, attempt, st),
                    failure: e => new StartNotConfirmed(trial, worker, e));
        }
    }

    void OnStartConfirmed(StartConfirmed c)
    {
        _reserved.Remove(c.Worker);
        var id = c.Trial.Key.Id;
        _latest[id] = c.State;
        if (!_workers.TryGetValue(c.Worker, out var info))
        {
            _queue.AddFirst(c.Trial); // the worker vanished while we recorded the start
            Dispatch();
            return;
        }
        if (c.State.Status == TrialStatus.Completed || c.State.Attempt != c.Attempt)
        {
            // Finished (or moved on) meanwhile: give the worker something else.
            if (c.State.Status == TrialStatus.Completed) MarkFinished(c.State);
            _idle.AddFirst(c.Worker);
            Dispatch();
            return;
        }
        _running[id] = (c.Worker, c.Attempt);
        c.Worker.Tell(new AssignTrial(c.Trial, c.Attempt));
        var trialLog = _log.Trial(c.Trial.Key);
        trialLog.Information("attempt {Attempt} started on {Worker} (seed {Seed}, {Epochs} epochs)", c.Attempt, info.Name, c.Trial.Seed, c.Trial.Recipe.Epochs);
        _log.Main.Information("Started {Trial} (attempt {Attempt}) on {Worker}", id, c.Attempt, info.Name);
    }

    void OnTrialState(TrialState state)
    {
        var id = state.TrialId;
        if (!_specs.TryGetValue(id, out var spec) || _finished.ContainsKey(id)) return;
        var previous = _latest.GetValueOrDefault(id);
        _latest[id] = state;
        var trialLog = _log.Trial(spec.Key);
        switch (state.Status)
        {
            case TrialStatus.Running when state.Epochs.Count > (previous?.Epochs.Count ?? 0):
                var e = state.Epochs[^1];
                trialLog.Information(
                    "epoch {Epoch}/{Epochs} train_loss {TrainLoss:F4} train_acc {TrainAcc:F2}% test_loss {TestLoss:F4} test_acc {TestAcc:F2}% lr {Lr:G4} {Seconds:F1}s {ImagesPerSecond:F0} img/s",
                    e.Epoch, spec.Recipe.Epochs, e.TrainLoss, e.TrainAcc, e.TestLoss, e.TestAcc, e.LearningRate, e.Seconds, e.ImagesPerSecond);
                break;
            case TrialStatus.Completed:
                var s = state.Summary!;
                ReleaseWorkerOf(id);
                _costDoneHere += _plan.EstimatedCost(spec);
                trialLog.Information(RunLog.TrialEndMarker + " completed in {Seconds:F1}s: train_acc {TrainAcc:F2}% test_acc {TestAcc:F2}% on {Node}/{Device}",
                    s.Seconds, s.TrainAcc, s.TestAcc, state.Node, state.Device);
                _log.Main.Information("Completed {Trial}: test acc {TestAcc:F2}% in {Seconds:F1}s on {Node}/{Device}", id, s.TestAcc, s.Seconds, state.Node, state.Device);
                MarkFinished(state);
                break;
            case TrialStatus.Failed:
                ReleaseWorkerOf(id);
                if (state.Failures <= _plan.MaxRetries)
                {
                    trialLog.Warning("attempt {Attempt} failed: {Reason}; retrying with the same seed ({Retry} of {Max})", state.Attempt, state.LastFailure, state.Failures, _plan.MaxRetries);
                    _log.Main.Warning("{Trial} attempt {Attempt} failed: {Reason}; retrying ({Retry} of {Max})", id, state.Attempt, state.LastFailure, state.Failures, _plan.MaxRetries);
                    _queue.AddFirst(spec);
                    Dispatch();
                }
                else
                {
                    trialLog.Error(RunLog.TrialEndMarker + " failed after {Attempts} attempts: {Reason}", state.Attempt, state.LastFailure);
                    _log.Main.Error("{Trial} failed after {Attempts} attempts: {Reason}", id, state.Attempt, state.LastFailure);
                    MarkFinished(state);
                }
                break;
        }
    }

    /// <summary>The trial's outcome is in: its worker is free again if it already asked for work.</summary>
    void ReleaseWorkerOf(string trialId)
    {
        if (!_running.Remove(trialId, out var run)) return;
        if (_askedWhileBusy.Remove(run.Worker) && _workers.ContainsKey(run.Worker) && !_idle.Contains(run.Worker))
        {
            _idle.AddLast(run.Worker);
            Dispatch();
        }
    }

    void MarkFinished(TrialState state)
    {
        if (_finished.ContainsKey(state.TrialId)) return;
        ReleaseWorkerOf(state.TrialId);
        for (var node = _queue.First; node != null; node = node.Next)
            if (node.Value.Key.Id == state.TrialId) { _queue.Remove(node); break; }
        _finished[state.TrialId] = new FinishedTrial(_specs[state.TrialId], state, state.Status == TrialStatus.Completed);
        WriteTables();
        CheckDone();
    }

    void OnWorkerLost(IActorRef worker, string why)
    {
        if (!_workers.Remove(worker, out var info)) return;
        _idle.Remove(worker);
        _reserved.Remove(worker);
        _askedWhileBusy.Remove(worker);
        _log.Main.Warning("Worker {Worker} lost ({Why}); {Workers} workers left", info.Name, why, _workers.Count);
        foreach (var (trialId, _) in _running.Where(r => r.Value.Worker.Equals(worker)).ToList())
            Requeue(trialId, $"worker {info.Name} lost");
        Dispatch();
    }

    void Requeue(string trialId, string why)
    {
        _running.Remove(trialId);
        if (_finished.ContainsKey(trialId)) return;
        var spec = _specs[trialId];
        _queue.AddFirst(spec); // it has waited longest, and is among the longest
        _log.Trial(spec.Key).Warning("back in the queue: {Why}", why);
        _log.Main.Warning("{Trial} back in the queue: {Why}", trialId, why);
    }

    bool IsFinal(TrialState s) =>
        s.Status == TrialStatus.Completed || (s.Status == TrialStatus.Failed && s.Failures > _plan.MaxRetries);

    void WriteTables()
    {
        AtomicFile.WriteAllText(_folder.TrialsCsv, ResultTables.TrialsCsv(_finished.Values));
        AtomicFile.WriteAllText(_folder.EpochsCsv, ResultTables.EpochsCsv(_finished.Values));
    }

    void CheckDone()
    {
        if (_reportAsked || _finished.Count < _plan.Trials.Count) return;
        _reportAsked = true;
        ShowProgress(force: true);
        _log.Main.Information("All {Total} trials finished; building the report", _plan.Trials.Count);
        _aggregator.Tell(new ReportAggregator.BuildReport(_folder));
    }

    Progress CurrentProgress()
    {
        var completed = _finished.Values.Count(f => f.Completed);
        var running = _running.Keys.Select(id => _latest.GetValueOrDefault(id) ?? TrialState.New(id)).ToList();
        return new Progress(_plan.Trials.Count, completed, _finished.Count - completed, _running.Count, _queue.Count,
            _workers.Count, EstimateRemaining(), running);
    }

    /// <summary>Remaining cost over the cost finished per second so far in this process (running trials count by
    /// the fraction of their epochs done).</summary>
    TimeSpan? EstimateRemaining()
    {
        double partial = 0, remaining = 0;
        foreach (var (id, _) in _running)
        {
            var spec = _specs[id];
            var done = Math.Min(1.0, (_latest.GetValueOrDefault(id)?.Epochs.Count ?? 0) / (double)spec.Recipe.Epochs);
            partial += done * _plan.EstimatedCost(spec);
            remaining += (1 - done) * _plan.EstimatedCost(spec);
        }
        remaining += _queue.Sum(_plan.EstimatedCost);
        var elapsed = (DateTime.UtcNow - _startedAt).TotalSeconds;
        var rate = (_costDoneHere + partial) / elapsed;
        if (remaining == 0) return TimeSpan.Zero;
        return rate > 0 ? TimeSpan.FromSeconds(remaining / rate) : null;
    }

    void ShowProgress(bool force)
    {
        var p = CurrentProgress();
        var eta = p.Eta is { } t ? $"ETA {(int)t.TotalMinutes}m {t.Seconds:D2}s" : "ETA —";
        var line = $"Progress: {p.Completed + p.Failed}/{p.Total} done ({p.Failed} failed) · {p.Running} running · {p.Queued} queued · {p.Workers} workers · {eta}";
        var details = string.Join("", p.RunningTrials.Select(s =>
        {
            var epochs = _specs[s.TrialId].Recipe.Epochs;
            var last = s.Epochs.Count > 0 ? $"epoch {s.Epochs[^1].Epoch}/{epochs}, test acc {s.Epochs[^1].TestAcc:F1}%" : $"epoch 0/{epochs}";
            return $"\n    {s.TrialId} on {s.Node}/{s.Device}: {last}";
        }));
        // Print when something changed, else every 30 s, so the console stays readable.
        var changed = line + details != _lastProgressLine;
        if (!force && !changed && DateTime.UtcNow - _lastProgressAt < TimeSpan.FromSeconds(30)) return;
        _lastProgressLine = line + details;
        _lastProgressAt = DateTime.UtcNow;
        _log.Main.Information(line + details);
    }
}
