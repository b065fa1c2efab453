namespace SamCluster.Messages;

/// <summary>Marker for every message that crosses process boundaries or is persisted: SamCluster's own serializer
/// handles exactly these types (by a fixed manifest table, never by type names from the wire).</summary>
public interface IClusterMessage;

/// <summary>A message about one trial, routed by <see cref="TrialId"/> to that trial's sharded entity.</summary>
public interface ITrialMessage : IClusterMessage
{
    string TrialId { get; }
}

// ---------------------------------------------------------------------------------------------------------------
// Worker ↔ coordinator (scheduling)
// ---------------------------------------------------------------------------------------------------------------

/// <summary>Worker → coordinator: this worker (one device slot) is free and asks for a trial (work pulling). Resent
/// while idle, so a restarted coordinator learns of it.</summary>
/// <param name="Facts">The node's machine and libraries, for the run's manifest (null from nodes of older versions).</param>
/// <param name="Pack">The most trials this worker takes as one pack (the repeats of one cell, trained as one fused
/// model; see <see cref="AssignPack"/>): the node's --pack, or <see cref="PackAsGridSays"/> for the grid's `pack` key;
/// null from nodes of older versions, which take one trial at a time.</param>
public sealed record WorkerReady(string WorkerId, string Node, string Device, NodeFacts? Facts = null, int? Pack = null) : IClusterMessage
{
    /// <summary><see cref="Pack"/>'s value for a worker that packs as the grid's `pack` key says.</summary>
    public const int PackAsGridSays = 0;
}

/// <summary>What a node trains on, as run.json records it for every node that ran a trial.</summary>
/// <param name="Host">The machine's name.</param>
/// <param name="CpuModel">As the OS reports it (Linux: /proc/cpuinfo's model name); null where it does not.</param>
/// <param name="Cores">Logical processors the process may use.</param>
/// <param name="Threads">Torch's intra-op CPU threads in the node.</param>
/// <param name="Devices">The devices the node's workers train on ("cpu", "cuda:0", ...).</param>
/// <param name="Gpus">The machine's GPU models (NVIDIA driver's list); empty without one.</param>
/// <param name="GpuDriver">The NVIDIA driver's version; null without one.</param>
/// <param name="TorchSharp">TorchSharp's version in the node.</param>
/// <param name="LibTorch">The libtorch the node binds to: its version and where it is from.</param>
/// <param name="Workers">Trials the node runs at once (devices × slots); null from nodes of older versions.</param>
public sealed record NodeFacts(string Host, string? CpuModel, int Cores, int Threads, IReadOnlyList<string> Devices,
    IReadOnlyList<string> Gpus, string? GpuDriver, string TorchSharp, string LibTorch, int? Workers = null)
{
    /// <summary>What a trial on <paramref name="device"/> of this node runs on, for comparing times: the CPU's model for
    /// "cpu", the GPU's model for "cuda:N" when the machine's GPUs are all one model (which of several models is cuda:N
    /// depends on CUDA's device order, so a mixed machine's says no model); null when unknown.</summary>
    public string? DeviceModel(string device) =>
        device.StartsWith("cuda", StringComparison.Ordinal)
            ? Gpus.Distinct().Count() == 1 ? Gpus[0] : null
            : device == "cpu" ? CpuModel : null;
}

/// <summary>What a trial's time was measured under, as the trial's hand-out records it from its node's facts: the
/// device's model (<see cref="NodeFacts.DeviceModel"/>), the node's torch threads and how many trials the node runs at
/// once. Any part may be null (a node of an older version says nothing of it).</summary>
public sealed record TrialConditions(string? DeviceModel, int? Threads, int? Concurrent)
{
    public static TrialConditions? Of(NodeFacts? facts, string device) =>
        facts is null ? null : new TrialConditions(facts.DeviceModel(device), facts.Threads, facts.Workers);
}

/// <summary>Coordinator → worker: run this attempt of the trial. The worker answers the trial's entity at once with
/// <see cref="AcceptAttempt"/> or <see cref="RejectAttempt"/>; silence past the acknowledgement timeout puts the trial
/// back in the queue.</summary>
/// <param name="Attempt">The fencing token: counts from 1, grows on every hand-out; reports of any other attempt are refused.</param>
/// <param name="ResumeFrom">Checkpoints to resume from, best first (newest epoch); the worker takes the first that verifies.</param>
/// <param name="CheckpointEvery">Save a checkpoint after every this many epochs (0 = none).</param>
/// <param name="CheckpointDir">The coordinator's checkpoint store; a node's own --checkpoint-dir takes precedence.</param>
public sealed record AssignTrial(
    TrialSpec Trial,
    int Attempt,
    IReadOnlyList<CheckpointRef> ResumeFrom,
    int CheckpointEvery,
    string? CheckpointDir) : IClusterMessage;

/// <summary>Coordinator → worker: run these attempts as one pack (the repeats of one cell, each its own numbered attempt
/// of its own trial). The worker answers each member's entity at once, as it would a solo <see cref="AssignTrial"/>,
/// and reports, resends, renews and is superseded per member. A pack of one is never sent: that is an AssignTrial.</summary>
public sealed record AssignPack(IReadOnlyList<AssignTrial> Members) : IClusterMessage;

/// <summary>Worker → coordinator, every few seconds while an attempt runs: the lease on it is renewed (epoch reports
/// renew it too; this covers epochs longer than the lease).</summary>
public sealed record RenewLease(string TrialId, int Attempt) : IClusterMessage;

/// <summary>Coordinator or trial entity → worker: this attempt is superseded (lease expired, trial finished, handed
/// out again); stop it and report nothing more of it.</summary>
public sealed record AttemptSuperseded(string TrialId, int Attempt, string Why) : IClusterMessage;

// ---------------------------------------------------------------------------------------------------------------
// Commands to a trial's entity
// ---------------------------------------------------------------------------------------------------------------

/// <summary>Coordinator → entity: hand the trial to this worker. The entity numbers the attempt and records
/// <see cref="AttemptStarted"/>, or answers <see cref="StartRefused"/> when the trial is already completed.</summary>
/// <param name="Conditions">What the worker's node said of itself (null from nodes of older versions).</param>
public sealed record StartAttempt(string TrialId, string WorkerId, string Node, string Device, TrialConditions? Conditions = null) : ITrialMessage;

/// <summary>Coordinator → entity: the attempt is given up (its worker was lost, its lease expired).</summary>
public sealed record ReleaseAttempt(string TrialId, int Attempt, string Why) : ITrialMessage;

/// <summary>Anyone → entity: reply with its <see cref="TrialState"/>.</summary>
public sealed record GetTrialState(string TrialId) : ITrialMessage;

/// <summary>What a worker reports about its attempt. Reports are numbered from 1 in the order the worker makes them;
/// the entity applies them strictly in that order, each once, and acknowledges each (<see cref="ReportAck"/>). The
/// worker resends what is unacknowledged, so a lost message delays a report but never loses or reorders it.</summary>
public interface IAttemptReport : ITrialMessage
{
    int Attempt { get; }
    int Seq { get; }
}

/// <summary>Worker → entity, report 1: the worker took the attempt; its lease starts.</summary>
public sealed record AcceptAttempt(string TrialId, int Attempt, int Seq) : IAttemptReport;

/// <summary>Worker → entity, report 1: the worker cannot take the attempt (busy); the trial goes back to the queue.</summary>
public sealed record RejectAttempt(string TrialId, int Attempt, int Seq, string Reason) : IAttemptReport;

/// <summary>Worker → entity: where training starts. <paramref name="From"/> null means epoch 0;
/// <paramref name="Note"/> says why when a checkpoint could not be used.</summary>
public sealed record ReportResume(string TrialId, int Attempt, int Seq, CheckpointRef? From, string Note) : IAttemptReport;

/// <summary>Worker → entity: one epoch's metrics (each epoch crosses the wire once) and the checkpoint saved after it.</summary>
public sealed record ReportEpoch(string TrialId, int Attempt, int Seq, EpochMetrics Metrics, CheckpointRef? Checkpoint) : IAttemptReport;

/// <summary>Worker → entity: the attempt finished. Carries the summary, not the history: the entity already holds
/// every epoch (reports are applied in order), and refuses a summary that does not match them.</summary>
public sealed record ReportCompleted(string TrialId, int Attempt, int Seq, TrialSummary Summary, CheckpointRef? Weights) : IAttemptReport;

/// <summary>Worker → entity: the attempt failed (NaN loss, an exception). <paramref name="NoSpaceAt"/>: the file the
/// worker could not write because its disk is full (a checkpoint, the weights), as the node sees it; such an attempt is
/// released, not failed (the trial did nothing wrong), and the coordinator ends the run until space is freed.</summary>
public sealed record ReportFailed(string TrialId, int Attempt, int Seq, string Reason, string? NoSpaceAt = null) : IAttemptReport;

// ---------------------------------------------------------------------------------------------------------------
// Replies of a trial's entity
// ---------------------------------------------------------------------------------------------------------------

/// <summary>Entity → worker: reports 1..Seq of the attempt are persisted.</summary>
public sealed record ReportAck(string TrialId, int Attempt, int Seq) : IClusterMessage;

/// <summary>Entity → coordinator: the trial cannot be started again (it is completed).</summary>
public sealed record StartRefused(string TrialId, string Why) : IClusterMessage;

// ---------------------------------------------------------------------------------------------------------------
// Events: what a trial's entity journals, and publishes to the coordinator (its observers read them)
// ---------------------------------------------------------------------------------------------------------------

/// <summary>A fact in a trial's life, journaled by its entity. The trial's state is a fold of its events.</summary>
public interface ITrialEvent : IClusterMessage
{
    string TrialId { get; }
    int Attempt { get; }
}

/// <param name="Conditions">What the attempt's time is measured under; null in journals of older versions.</param>
public sealed record AttemptStarted(string TrialId, int Attempt, string WorkerId, string Node, string Device, DateTimeOffset At,
    TrialConditions? Conditions = null) : ITrialEvent;

public sealed record AttemptAccepted(string TrialId, int Attempt) : ITrialEvent;

/// <summary>The attempt starts after <paramref name="From"/>'s epoch (null: epoch 0); the epochs up to it are the
/// checkpoint's attempt's.</summary>
public sealed record AttemptResumed(string TrialId, int Attempt, CheckpointRef? From, string Note) : ITrialEvent;

public sealed record EpochRecorded(string TrialId, int Attempt, EpochMetrics Metrics) : ITrialEvent;

public sealed record CheckpointRecorded(string TrialId, int Attempt, CheckpointRef Checkpoint) : ITrialEvent;

public sealed record TrialCompleted(string TrialId, int Attempt, TrialSummary Summary, CheckpointRef? Weights) : ITrialEvent;

public sealed record AttemptFailed(string TrialId, int Attempt, string Reason) : ITrialEvent;

/// <param name="NoSpaceAt">Set when the worker gave the attempt up because the disk it writes to is full: the file.</param>
public sealed record AttemptReleased(string TrialId, int Attempt, string Why, string? NoSpaceAt = null) : ITrialEvent;

// ---------------------------------------------------------------------------------------------------------------
// A sequential study's looks: journaled by the coordinator (persistence id "looks"), one event per decided look
// ---------------------------------------------------------------------------------------------------------------

/// <summary>Look <paramref name="Look"/> of comparison <paramref name="Comparison"/> ("fashion-mnist/resnet18/sam") was
/// decided: journaled before anything acts on it, so a restarted coordinator never decides a look twice.</summary>
/// <param name="Decision">"continue", "efficacy", "futility" or "not_shown".</param>
/// <param name="NPerArm">Repeats per arm at this look (the design's; failed trials are missing from the test).</param>
public sealed record LookDecided(string Comparison, int Look, string Decision, int NPerArm, double? Statistic, double? Df,
    double NominalAlpha, double? PValue, double? Difference, DateTimeOffset At) : IClusterMessage;
