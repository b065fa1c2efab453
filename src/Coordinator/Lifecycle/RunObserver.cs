using SamCluster.Messages;

namespace SamCluster.Coordinator.Lifecycle;

/// <summary>Where the grid stands: the board as it was at one moment (immutable), the workers and an ETA. Every count
/// is read from the entries' one status.</summary>
/// <param name="Trials">Every trial of the grid, in grid order.</param>
/// <param name="Looks">A sequential study's comparisons and their looks so far; null for a grid without `sequential`.</param>
public sealed record RunView(IReadOnlyList<BoardEntry> Trials, int Workers, TimeSpan? Eta, IReadOnlyList<ComparisonLooks>? Looks = null)
{
    public int Total => Trials.Count;
    public int Completed => Trials.Count(e => e.Status == BoardStatus.Completed);
    public int Failed => Trials.Count(e => e.Status == BoardStatus.Failed);
    public int Queued => Trials.Count(e => e.Status == BoardStatus.Queued);
    public int Waiting => Trials.Count(e => e.Status == BoardStatus.Waiting);
    public int Skipped => Trials.Count(e => e.Status == BoardStatus.Skipped);
    public IReadOnlyList<BoardEntry> Running => Trials.Where(e => e.Status == BoardStatus.Running).ToList();
    public IReadOnlyList<BoardEntry> Finished => Trials.Where(e => e.IsFinished).ToList();

    /// <summary>Trials already finished when this coordinator started (read back from the journal).</summary>
    public int Recovered => Trials.Count(e => e.Recovered);
}

/// <summary>
/// What the grid coordinator tells the rest of the run, as callbacks (as Ray Tune's loggers are): the board read back
/// from the journal on start, every trial event as its entity journals it, the scheduler's decisions, workers coming and
/// going, and a periodic view. Each change comes with the trial's entry and the board as it is after it (an immutable
/// snapshot, in grid order): observers read status there and keep none of their own. Result tables, trial logs, the
/// progress view, TensorBoard, weight collection and the live page are observers; the coordinator itself only
/// schedules. Called on the coordinator's thread, one call at a time.
/// </summary>
public interface IRunObserver
{
    void OnStart(RunView view) { }
    void OnTrialEvent(BoardEntry trial, ITrialEvent e, IReadOnlyList<BoardEntry> board) { }
    void OnDecision(BoardEntry trial, SchedulerAction decision, IReadOnlyList<BoardEntry> board) { }
    void OnWorkerJoined(string worker, int workers) { }
    void OnWorkerLost(string worker, string why, int workers) { }
    /// <summary>The last worker of a node was lost while the grid ran: the node, where it was ("10.1.2.7:4055"; null for
    /// one in this process) and the trials its workers held, now back in the queue (after the workers' own lines).</summary>
    void OnNodeLost(string node, string? address, IReadOnlyList<string> trials, int workers) { }
    /// <summary>A worker went away after every trial had finished (its node leaves with the coordinator): no loss.</summary>
    void OnWorkerLeft(string worker, int workers) { }
    /// <summary>A trial is handed to a worker of this node (every hand-out; facts null from nodes of older versions).</summary>
    void OnNodeAtWork(string node, NodeFacts? facts) { }
    /// <summary>A sequential study's look was decided and journaled (<paramref name="comparison"/> holds it last).</summary>
    void OnLookDecided(ComparisonLooks comparison, RunView view) { }
    void OnTick(RunView view) { }
    void OnAllFinished(RunView view) { }
}
