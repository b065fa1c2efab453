using SamCluster.Messages;
using SamCluster.Training;

namespace SamCluster.GpuNode;

/// <summary>One member of a pack as the worker hands it to <see cref="ITrialExecutor.RunPack"/>: its attempt, its
/// callbacks (called from the training thread) and its own cancellation (its attempt superseded: it alone stops).</summary>
public sealed record PackAssignment(AssignTrial Assignment, Action<ResumeReport> OnResume,
    Action<EpochMetrics, CheckpointRef?> OnEpoch, CancellationToken Cancel);

/// <summary>Runs one attempt of a trial on one device. <paramref name="onResume"/> says where training starts (from
/// which checkpoint, or epoch 0); <paramref name="onEpoch"/> is called as each epoch ends, with the checkpoint saved
/// after it. Both are called from the training thread. Throws on failure; the exception's message becomes the
/// attempt's failure reason.</summary>
public interface ITrialExecutor
{
    TrialResult Run(AssignTrial assignment, string device, Action<ResumeReport> onResume,
        Action<EpochMetrics, CheckpointRef?> onEpoch, CancellationToken cancel);

    /// <summary>Runs the attempts of a pack (repeats of one cell) and returns one outcome per member, in member order: a
    /// member's failure is its outcome's error, not the pack's. <paramref name="cancel"/> stops the whole pack (the
    /// node stopping) and throws OperationCanceledException. An executor that cannot fuse trains the members one after
    /// another, each as <see cref="Run"/> would.</summary>
    IReadOnlyList<PackMemberOutcome> RunPack(IReadOnlyList<PackAssignment> members, string device, CancellationToken cancel)
    {
        var outcomes = new List<PackMemberOutcome>();
        foreach (var m in members)
        {
            cancel.ThrowIfCancellationRequested();
            using var either = CancellationTokenSource.CreateLinkedTokenSource(cancel, m.Cancel);
            try
            {
                outcomes.Add(new PackMemberOutcome(Run(m.Assignment, device, m.OnResume, m.OnEpoch, either.Token), null));
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancel.IsCancellationRequested)
            {
                outcomes.Add(new PackMemberOutcome(null, e));
            }
        }
        return outcomes;
    }

    /// <summary>The trial's journal now holds <paramref name="checkpoint"/>: the attempt's older checkpoints may go.</summary>
    void CheckpointRecorded(AssignTrial assignment, CheckpointRef checkpoint);
}
