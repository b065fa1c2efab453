using SamCluster.Coordinator.Observers;
using SamCluster.Messages;
using SamCluster.Training.Checkpoints;

namespace SamCluster.Cli.Hosting;

/// <summary>The coordinator's view of the training library's checkpoint store.</summary>
public sealed class CheckpointStoreAccess(CheckpointStore store) : ICheckpointStoreAccess
{
    public void CopyWeights(CheckpointRef weights, string destination) => CheckpointStore.CopyVerified(store.Root, weights, destination);

    public void DeleteTrial(string trialId) => store.DeleteTrial(trialId);
}
