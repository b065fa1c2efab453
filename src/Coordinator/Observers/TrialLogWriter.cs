using SamCluster.Coordinator.Lifecycle;
using SamCluster.RunStore;
using SamCluster.Messages;
using SamCluster.Coordinator.Logging;

namespace SamCluster.Coordinator.Observers;

/// <summary>Writes each trial's story to logs/&lt;trial id&gt;.log (what `samcluster tail` follows) and the run's main
/// events to the console and logs/run.clef.</summary>
public sealed class TrialLogWriter(RunLog log) : IRunObserver
{
    public void OnStart(RunView view)
    {
        if (view.Recovered > 0)
        {
            // "Queued again" only for trials that ran before; those never handed out are just queued.
            var neverRan = view.Trials.Count(e => e.Status == BoardStatus.Queued && e.State.Attempts.Count == 0);
            log.Main.Information("Recovered from the journal: {Recovered} of {Total} trials already finished ({Completed} completed, {Failed} failed); {Queued} queued again{NeverRan}",
                view.Recovered, view.Total, view.Completed, view.Failed, view.Queued - neverRan,
                neverRan > 0 ? $", {neverRan} not started yet" : "");
        }
        else if (view.Looks is not null)
            log.Main.Information("Grid of {Total} trials in looks: {Queued} queued (the first look's repeats, longest expected first), {Waiting} waiting for their comparison's decision; waiting for workers",
                view.Total, view.Queued, view.Waiting);
        else
            log.Main.Information("Grid of {Total} trials queued, longest expected first; waiting for workers", view.Total);
        foreach (var c in view.Looks?.Where(c => c.Decided.Count > 0) ?? [])
            log.Main.Information("{Comparison}: {Look} (from the journal)", Label(c), c.Describe());
    }

    /// <summary>One line per decided look: the decision, its figures, and what it does to the queue.</summary>
    public void OnLookDecided(ComparisonLooks comparison, RunView view)
    {
        var d = comparison.Last!;
        var figures = d.PValue is { } p
            ? string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"n = {d.NPerArm} per arm, difference {d.Difference:+0.00;-0.00} pp, t = {d.Statistic:0.000}, df = {d.Df:0.0}, one-sided p = {p:0.0000} vs nominal {d.NominalAlpha:0.0000}")
            : $"n = {d.NPerArm} per arm, no spread to test with";
        var next = comparison.IsOpen ? $"; look {comparison.Reached}'s repeats queued"
            : d.Look < comparison.LookCount ? "; its later looks will not run" : "";
        log.Main.Information("{Comparison}: {Look} ({Figures}){Next}", Label(comparison), comparison.Describe(), figures, next);
    }

    static string Label(ComparisonLooks c) => $"{c.Comparison.Id} vs {c.Comparison.Control}";

    public void OnWorkerJoined(string worker, int workers) =>
        log.Main.Information("Worker {Worker} joined ({Workers})", worker, ConsoleText.Count(workers, "worker"));

    public void OnWorkerLost(string worker, string why, int workers) =>
        log.Main.Warning("Worker {Worker} lost ({Why}); {Workers} left", worker, why, ConsoleText.Count(workers, "worker"));

    public void OnNodeLost(string node, string? address, IReadOnlyList<string> trials, int workers) =>
        log.Main.Warning("{Line}; {Workers} left", NodeLostLine(node, address, trials), ConsoleText.Count(workers, "worker"));

    /// <summary>"node gpu7 (10.1.2.7:4055) lost: its trial d/m/sam/3 goes back to the queue" (its trials … go; it held
    /// no trial).</summary>
    public static string NodeLostLine(string node, string? address, IReadOnlyList<string> trials)
    {
        var where = string.IsNullOrEmpty(address) ? "" : $" ({address})";
        var what = trials.Count switch
        {
            0 => "it held no trial",
            1 => $"its trial {trials[0]} goes back to the queue",
            _ => $"its trials {string.Join(", ", trials)} go back to the queue",
        };
        return $"node {node}{where} lost: {what}";
    }

    public void OnWorkerLeft(string worker, int workers) =>
        log.Main.Information("Worker {Worker} left after the grid finished; {Workers} left", worker, ConsoleText.Count(workers, "worker"));

    public void OnTrialEvent(BoardEntry entry, ITrialEvent e, IReadOnlyList<BoardEntry> board)
    {
        var (spec, state) = (entry.Spec, entry.State);
        var trial = log.Trial(spec.Key);
        switch (e)
        {
            case AttemptStarted s:
                trial.Information("attempt {Attempt} started on {Worker} (seed {Seed}, {Epochs})",
                    s.Attempt, WorkerName(s.WorkerId), spec.Seed, ConsoleText.Count(spec.Recipe.Epochs, "epoch"));
                log.Main.Information("Started {Trial} (attempt {Attempt}) on {Worker}", spec.Key.Id, s.Attempt, WorkerName(s.WorkerId));
                break;
            case AttemptResumed { From: { } from } r:
                trial.Information("resumed from epoch {Epoch} (checkpoint of attempt {From}){Note}", from.Epoch, from.Attempt, Suffix(r.Note));
                log.Main.Information("{Trial} attempt {Attempt} resumed from epoch {Epoch}", spec.Key.Id, r.Attempt, from.Epoch);
                break;
            case AttemptResumed r:
                // The node's note may say it already ("no checkpoint to resume from; starting from epoch 0"): once.
                trial.Information("{Start}", r.Note.Contains("starting from epoch 0", StringComparison.Ordinal) ? r.Note : "starting from epoch 0" + Suffix(r.Note));
                break;
            case EpochRecorded { Metrics: var m }:
                trial.Information(
                    "epoch {Epoch}/{Epochs} train_loss {TrainLoss:F4} train_acc {TrainAcc:F2}% test_loss {TestLoss:F4} test_acc {TestAcc:F2}% lr {Lr:G4} {Seconds:F1}s {ImagesPerSecond:F0} img/s",
                    m.Epoch, spec.Recipe.Epochs, m.TrainLoss, m.TrainAcc, m.TestLoss, m.TestAcc, m.LearningRate, m.Seconds, m.ImagesPerSecond);
                break;
            case CheckpointRecorded c:
                trial.Debug("checkpoint after epoch {Epoch}: {Location} (sha256 {Sha256})", c.Checkpoint.Epoch, c.Checkpoint.Location, c.Checkpoint.Sha256);
                break;
            case TrialCompleted c:
                trial.Information(RunLog.TrialEndMarker + " completed in {Seconds:F1}s: train_acc {TrainAcc:F2}% test_acc {TestAcc:F2}% on {Node}/{Device}",
                    c.Summary.Seconds, c.Summary.TrainAcc, c.Summary.TestAcc, state.Node, state.Device);
                log.Main.Information("Completed {Trial}: test acc {TestAcc:F2}% in {Seconds:F1}s on {Node}/{Device}",
                    spec.Key.Id, c.Summary.TestAcc, c.Summary.Seconds, state.Node, state.Device);
                break;
            case AttemptFailed f:
                trial.Warning("attempt {Attempt} failed: {Reason}", f.Attempt, f.Reason);
                break;
            case AttemptReleased r:
                trial.Warning("attempt {Attempt} released: {Why}", r.Attempt, r.Why);
                break;
        }
    }

    public void OnDecision(BoardEntry entry, SchedulerAction decision, IReadOnlyList<BoardEntry> board)
    {
        var (spec, state) = (entry.Spec, entry.State);
        var trial = log.Trial(spec.Key);
        var id = spec.Key.Id;
        switch (decision)
        {
            case Retry r:
                trial.Warning("retrying with the same seed ({Retry} of the retry budget)", r.Failures);
                log.Main.Warning("{Trial} attempt {Attempt} failed: {Reason}; retrying ({Retry})", id, state.Attempt, state.LastFailure, r.Failures);
                break;
            case Finish { Completed: false }:
                trial.Error(RunLog.TrialEndMarker + " failed after {Attempts} attempts: {Reason}", state.Attempt, state.LastFailure);
                log.Main.Error("{Trial} failed after {Attempts} attempts: {Reason}", id, state.Attempt, state.LastFailure);
                break;
            case Requeued r:
                trial.Warning("back in the queue: {Why}", r.Why);
                log.Main.Warning("{Trial} back in the queue: {Why}", id, r.Why);
                break;
        }
    }

    public void OnAllFinished(RunView view) =>
        log.Main.Information("All {Total} trials finished; building the report", view.Total);

    /// <summary>"w0@node-1/cpu" of the coordinator's worker key "w0@node-1/cpu#uid".</summary>
    static string WorkerName(string workerId) => workerId.Split('#')[0];

    static string Suffix(string note) => string.IsNullOrWhiteSpace(note) ? "" : "; " + note;
}
