using SamCluster.Messages;
using SamCluster.Training.Checkpoints;
using static TorchSharp.torch;

namespace SamCluster.Training;

/// <summary>One trial of a pack: its spec, checkpointing and callbacks, as <see cref="TrialRunner.Run(TrialSpec, TrainingTensors, Device, Action{ResumeReport}?, Action{EpochMetrics, CheckpointRef?}, TrialCheckpointing?, CancellationToken)"/>
/// takes them for a solo trial. <paramref name="Cancel"/> is this member's alone (its attempt superseded): the member
/// leaves the pack and the others go on.</summary>
public sealed record PackMember(
    TrialSpec Spec,
    TrialCheckpointing? Checkpointing,
    Action<ResumeReport>? OnResume,
    Action<EpochMetrics, CheckpointRef?> OnEpoch,
    CancellationToken Cancel = default);

/// <summary>How one member of a pack ended: its result, or the exception that ended it alone (a NaN loss, its own
/// cancellation, a checkpoint it could not write), thrown as it would have been in a solo run.</summary>
public sealed record PackMemberOutcome(TrialResult? Result, Exception? Error);

/// <summary>Trains the repeats of one cell (same dataset, model, optimizer and recipe; different seeds) together.</summary>
public static class PackedTrialRunner
{
    /// <summary>Runs every member to its end and returns their outcomes in member order. Callbacks run on the calling
    /// thread. <paramref name="cancel"/> stops the whole pack (the node shutting down): it throws
    /// OperationCanceledException.</summary>
    public static IReadOnlyList<PackMemberOutcome> Run(IReadOnlyList<PackMember> members, TrainingTensors data, Device device,
        CancellationToken cancel = default)
    {
        if (members.Count == 0) throw new ArgumentException("a pack has at least one member", nameof(members));
        var outcomes = new List<PackMemberOutcome>(members.Count);
        foreach (var member in members)
        {
            cancel.ThrowIfCancellationRequested();
            using var either = CancellationTokenSource.CreateLinkedTokenSource(cancel, member.Cancel);
            try
            {
                outcomes.Add(new PackMemberOutcome(
                    TrialRunner.Run(member.Spec, data, device, member.OnResume, member.OnEpoch, member.Checkpointing, either.Token), null));
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception e)
            {
                outcomes.Add(new PackMemberOutcome(null, e));
            }
        }
        return outcomes;
    }
}
