using SamCluster.Messages;
using SamCluster.Training.Checkpoints;

namespace SamCluster.Training;

/// <summary>How a trial run checkpoints and resumes.</summary>
/// <param name="Attempt">The attempt this run is (names its files; counts from 1).</param>
/// <param name="Every">Checkpoint after every epoch whose number is a multiple of this; 0 = never.</param>
/// <param name="ResumeCandidates">Checkpoints to resume from, in any order: tried newest (highest epoch) first, the
/// first that loads is used.</param>
/// <param name="SaveWeights">Write the final weights (PyTorch state dict) after the last epoch.</param>
/// <param name="PruneWhenSaved">Delete the attempt's older checkpoints as soon as a new one is saved: right when nothing
/// else records checkpoints (train-one). On a cluster the worker prunes once the trial's journal holds the new one.</param>
public sealed record TrialCheckpointing(CheckpointStore Store, int Attempt, int Every, IReadOnlyList<CheckpointRef> ResumeCandidates,
    bool SaveWeights, bool PruneWhenSaved = false);

/// <summary>Where a run started and why, as one line for a log.</summary>
/// <param name="From">The checkpoint it resumed from, or null when it started afresh.</param>
/// <param name="StartEpoch">Epochs already done: training continues with StartEpoch + 1 (0 = from the start).</param>
/// <param name="Note">e.g. "resumed from epoch 2 (attempt 1's checkpoint)", or "checkpoint attempt-2-epoch-0003 is
/// corrupt (sha256 mismatch); resumed from epoch 2 (attempt 1's checkpoint)", or "no usable checkpoint (...);
/// starting from epoch 0", or "no checkpoint to resume from; starting from epoch 0" when there were no candidates.</param>
public sealed record ResumeReport(CheckpointRef? From, int StartEpoch, string Note);

/// <summary>A finished trial: its summary over every epoch (those before a resume point included), the final weights'
/// file when asked for, and where it started (the report onResume was given).</summary>
public sealed record TrialResult(TrialSummary Summary, CheckpointRef? Weights, ResumeReport Resume);
