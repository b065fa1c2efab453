using Akka.Actor;
using Akka.Event;
using SamCluster.Messages;

namespace SamCluster.GpuNode;

/// <summary>
/// One device slot of a GPU node. Pulls work: announces itself (<see cref="WorkerReady"/>) while idle, runs the one trial
/// it is given on a dedicated thread pinned to its device, streams each epoch to the trial's entity, then reports the
/// outcome and resends it until the entity acknowledges — only then does it ask for more. Stopping the worker (node
/// shutdown) cancels its trial; the coordinator sees it go and queues the trial again.
/// </summary>
public sealed class TrialWorker : ReceiveActor, IWithTimers
{
    /// <summary>Which slot this worker is: its id, its node's name and the device it is pinned to ("cpu", "cuda:1").</summary>
    public sealed record Slot(string WorkerId, string Node, string Device);

    // ---- protocol (local) ----
    sealed record Announce;
    sealed record ResendOutcome;
    sealed record TrainingEnded(AssignTrial Assignment, IReadOnlyList<EpochMetrics> Epochs, TrialSummary? Summary, string? Failure);

    readonly Slot _slot;
    readonly IActorRef _coordinator;
    readonly IActorRef _trials;
    readonly ITrialExecutor _executor;
    readonly TimeSpan _resendInterval;
    readonly ILoggingAdapter _log = Context.GetLogger();
    CancellationTokenSource? _cancel;
    ITrialMessage? _pendingOutcome;

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
        Become(Idle);
        AskForWork();
        // Keep asking while idle: a coordinator that restarted knows nothing of us until we do.
        Timers.StartPeriodicTimer("announce", new Announce(), _resendInterval);
    }

    void AskForWork() => _coordinator.Tell(new WorkerReady(_slot.WorkerId, _slot.Node, _slot.Device));

    void Idle()
    {
        Receive<Announce>(_ => AskForWork());
        Receive<AssignTrial>(StartTraining);
        Receive<OutcomeRecorded>(_ => { });
    }

    void StartTraining(AssignTrial assignment)
    {
        Timers.Cancel("announce");
        Become(Training);
        var trial = assignment.Trial;
        _log.Info("Training {0} (attempt {1}) on {2}", trial.Key.Id, assignment.Attempt, _slot.Device);
        _cancel = new CancellationTokenSource();
        var cancel = _cancel.Token;
        var trials = _trials;
        var epochs = new List<EpochMetrics>();
        Task.Factory.StartNew(() =>
        {
            try
            {
                var summary = _executor.Run(trial, _slot.Device, metrics =>
                {
                    lock (epochs) epochs.Add(metrics);
                    trials.Tell(new EpochCompleted(trial.Key.Id, assignment.Attempt, metrics));
                }, cancel);
                return new TrainingEnded(assignment, Snapshot(epochs), summary, null);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancel.IsCancellationRequested)
            {
                return new TrainingEnded(assignment, Snapshot(epochs), null, FailureReason(e));
            }
        }, cancel, TaskCreationOptions.LongRunning, TaskScheduler.Default)
            .PipeTo(Self, failure: e => new TrainingEnded(assignment, [], null, "cancelled"));
    }

    static IReadOnlyList<EpochMetrics> Snapshot(List<EpochMetrics> epochs)
    {
        lock (epochs) return epochs.ToArray();
    }

    static string FailureReason(Exception e) =>
        e is AggregateException { InnerException: { } inner } ? FailureReason(inner) : $"{e.Message} ({e.GetType().Name})";

    void Training()
    {
        Receive<TrainingEnded>(ended =>
        {
            _cancel?.Dispose();
            _cancel = null;
            var a = ended.Assignment;
            var id = a.Trial.Key.Id;
            _pendingOutcome = ended.Summary is { } summary
                ? new TrialCompleted(id, a.Attempt, _slot.Node, _slot.Device, ended.Epochs, summary)
                : new TrialFailed(id, a.Attempt, _slot.Node, _slot.Device, ended.Failure ?? "unknown failure");
            if (ended.Summary is null) _log.Warning("Trial {0} attempt {1} failed: {2}", id, a.Attempt, ended.Failure);
            Become(Reporting);
            _trials.Tell(_pendingOutcome);
            Timers.StartPeriodicTimer("resend", new ResendOutcome(), _resendInterval);
        });
        Receive<AssignTrial>(a => _log.Warning("Busy; ignoring a second assignment ({0})", a.Trial.Key.Id));
        Receive<Announce>(_ => { });
        Receive<OutcomeRecorded>(_ => { });
    }

    void Reporting()
    {
        Receive<ResendOutcome>(_ => _trials.Tell(_pendingOutcome));
        Receive<OutcomeRecorded>(ack =>
        {
            if (_pendingOutcome is null || ack.TrialId != _pendingOutcome.TrialId) return;
            Timers.Cancel("resend");
            _pendingOutcome = null;
            BecomeIdle();
        });
        Receive<AssignTrial>(a => _log.Warning("Still reporting; ignoring an assignment ({0})", a.Trial.Key.Id));
        Receive<Announce>(_ => { });
    }
}
