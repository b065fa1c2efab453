using SamCluster.Messages;

namespace SamCluster.Coordinator.Lifecycle;

/// <summary>A trial that is finished for good, as it appears in trials.csv.</summary>
public sealed record FinishedTrial(TrialSpec Spec, TrialState State, bool Completed)
{
    public string Status => Completed ? "completed" : "failed";
}

/// <summary>A trial handed out now, and where it stands.</summary>
public sealed record RunningTrial(TrialSpec Spec, TrialState State, string? Worker);

/// <summary>A trial of the grid and its state, whatever its status.</summary>
public sealed record TrialView(TrialSpec Spec, TrialState State);

/// <summary>Where the grid stands: what the progress view shows and observers read.</summary>
/// <param name="Recovered">Trials already finished when this coordinator started (read back from the journal).</param>
/// <param name="Trials">Every trial of the grid with its state (attempts and their epochs), in grid order.</param>
public sealed record RunView(
    int Total,
    int Completed,
    int Failed,
    int Queued,
    int Workers,
    IReadOnlyList<RunningTrial> Running,
    IReadOnlyList<FinishedTrial> Finished,
    int Recovered,
    TimeSpan? Eta,
    IReadOnlyList<TrialView>? Trials = null);

/// <summary>
/// What the grid coordinator tells the rest of the run, as callbacks (as Ray Tune's loggers are): the journal read back
/// on start, every trial event as its entity journals it, the scheduler's decisions, workers coming and going, and a
/// periodic view. Result tables, trial logs, the progress view and weight collection are observers; the coordinator
/// itself only schedules. Called on the coordinator's thread, one call at a time.
/// </summary>
public interface IRunObserver
{
    void OnStart(RunView view) { }
    void OnTrialEvent(TrialSpec spec, ITrialEvent e, TrialState state) { }
    void OnDecision(TrialSpec spec, SchedulerAction decision, TrialState state) { }
    void OnWorkerJoined(string worker, int workers) { }
    void OnWorkerLost(string worker, string why, int workers) { }
    /// <summary>A trial is handed to a worker of this node (every hand-out; facts null from nodes of older versions).</summary>
    void OnNodeAtWork(string node, NodeFacts? facts) { }
    void OnTick(RunView view) { }
    void OnAllFinished(RunView view) { }
}
