using SamCluster.Messages;

namespace SamCluster.GpuNode;

/// <summary>Runs one trial on one device, calling <paramref name="onEpoch"/> (from the training thread) as each epoch ends.
/// Throws on failure; the exception's message becomes the trial's failure reason.</summary>
public interface ITrialExecutor
{
    TrialSummary Run(TrialSpec trial, string device, Action<EpochMetrics> onEpoch, CancellationToken cancel);
}
