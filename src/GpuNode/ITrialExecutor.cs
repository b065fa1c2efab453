using SamCluster.Messages;
using SamCluster.Training;

namespace SamCluster.GpuNode;

/// <summary>Runs one attempt of a trial on one device. <paramref name="onResume"/> says where training starts (from
/// which checkpoint, or epoch 0); <paramref name="onEpoch"/> is called as each epoch ends, with the checkpoint saved
/// after it. Both are called from the training thread. Throws on failure; the exception's message becomes the
/// attempt's failure reason.</summary>
public interface ITrialExecutor
{
    TrialResult Run(AssignTrial assignment, string device, Action<ResumeReport> onResume,
        Action<EpochMetrics, CheckpointRef?> onEpoch, CancellationToken cancel);

    /// <summary>The trial's journal now holds <paramref name="checkpoint"/>: the attempt's older checkpoints may go.</summary>
    void CheckpointRecorded(AssignTrial assignment, CheckpointRef checkpoint);
}
