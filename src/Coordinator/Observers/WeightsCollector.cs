using SamCluster.Coordinator.Lifecycle;
using SamCluster.Coordinator.Run;
using SamCluster.Messages;

namespace SamCluster.Coordinator.Observers;

/// <summary>The checkpoint store as the coordinator reaches it (implemented over the training library's store, which
/// the coordinator library does not reference).</summary>
public interface ICheckpointStoreAccess
{
    /// <summary>Copies a trial's final weights out of the store after checking their checksum; throws if it cannot.</summary>
    void CopyWeights(CheckpointRef weights, string destination);

    /// <summary>Removes the trial's checkpoints: a finished trial is never resumed.</summary>
    void DeleteTrial(string trialId);
}

/// <summary>Puts each completed trial's trained weights into DIR/weights/&lt;trial id&gt;.pt and frees its checkpoints.</summary>
public sealed class WeightsCollector(RunFolder folder, ICheckpointStoreAccess store, RunLog log) : IRunObserver
{
    public void OnDecision(TrialSpec spec, SchedulerAction decision, TrialState state)
    {
        if (decision is not Finish finish) return;
        if (finish.Completed && state.Weights is { } weights)
        {
            var destination = folder.TrialWeights(state.TrialId);
            try
            {
                store.CopyWeights(weights, destination);
                log.Trial(spec.Key).Information("weights saved to {Path}", destination);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                // The store may be a node-local folder this host cannot see; the node still holds the file.
                log.Main.Warning("Could not collect the weights of {Trial} from the checkpoint store ({Location}): {Problem}",
                    state.TrialId, weights.Location, e.Message);
                return;
            }
        }
        try { store.DeleteTrial(state.TrialId); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log.Main.Warning("Could not remove the checkpoints of {Trial}: {Problem}", state.TrialId, e.Message);
        }
    }
}
