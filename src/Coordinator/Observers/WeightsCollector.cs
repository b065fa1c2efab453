using SamCluster.Coordinator.Hosting;
using SamCluster.Coordinator.Lifecycle;
using SamCluster.RunStore;
using SamCluster.Messages;
using SamCluster.Coordinator.Logging;

namespace SamCluster.Coordinator.Observers;

/// <summary>Puts each completed trial's trained weights into DIR/weights/&lt;trial id&gt;.pt and frees its checkpoints.
/// A full disk is thrown (it ends the run) with the trial's weights still in the store; on the next start the weights of
/// completed trials that are not in DIR/weights yet are collected then.</summary>
public sealed class WeightsCollector(RunFolder folder, ICheckpointStoreAccess store, RunLog log) : IRunObserver
{
    public void OnStart(RunView view)
    {
        foreach (var f in view.Trials.Where(f => f.Status == BoardStatus.Completed && f.State.Weights is not null))
            if (!File.Exists(folder.TrialWeights(f.State.TrialId)))
                Collect(f.Spec, f.State, f.State.Weights!, quietIfGone: true);
    }

    public void OnDecision(BoardEntry trial, SchedulerAction decision, IReadOnlyList<BoardEntry> board)
    {
        if (decision is not Finish finish) return;
        if (finish.Completed && trial.State.Weights is { } weights)
            Collect(trial.Spec, trial.State, weights, quietIfGone: false);
        else
            DeleteCheckpoints(trial.Id);
    }

    /// <param name="quietIfGone">On start: weights no longer in the store were collected by an earlier run (and moved
    /// away since) or live in a node's own store; that is not news.</param>
    void Collect(TrialSpec spec, TrialState state, CheckpointRef weights, bool quietIfGone)
    {
        var destination = folder.TrialWeights(state.TrialId);
        try
        {
            store.CopyWeights(weights, destination);
            log.Trial(spec.Key).Information("weights saved to {Path}", destination);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException && !DiskFull.Is(e))
        {
            // The store may be a node-local folder this host cannot see; the node still holds the file.
            if (!(quietIfGone && e is FileNotFoundException or DirectoryNotFoundException))
                log.Main.Warning("Could not collect the weights of {Trial} from the checkpoint store ({Location}): {Problem}",
                    state.TrialId, weights.Location, e.Message);
            return;
        }
        DeleteCheckpoints(state.TrialId);
    }

    void DeleteCheckpoints(string trialId)
    {
        try { store.DeleteTrial(trialId); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log.Main.Warning("Could not remove the checkpoints of {Trial}: {Problem}", trialId, e.Message);
        }
    }
}
