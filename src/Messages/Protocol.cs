namespace SamCluster.Messages;

/// <summary>Marker for every message that crosses process boundaries or is persisted: SamCluster's own serializer
/// handles exactly these types (by a fixed manifest table, never by type names from the wire).</summary>
public interface IClusterMessage;

/// <summary>A message about one trial, routed by <see cref="TrialId"/> to that trial's sharded entity.</summary>
public interface ITrialMessage : IClusterMessage
{
    string TrialId { get; }
}

/// <summary>Worker → coordinator: this worker (one device slot) is free and asks for a trial (work pulling).</summary>
public sealed record WorkerReady(string WorkerId, string Node, string Device) : IClusterMessage;

/// <summary>Coordinator → worker: run this trial. Attempt counts from 1 and grows on every hand-out.</summary>
public sealed record AssignTrial(TrialSpec Trial, int Attempt) : IClusterMessage;

/// <summary>Coordinator → trial entity: the trial was handed to a worker.</summary>
public sealed record TrialStarted(string TrialId, int Attempt, string WorkerId, string Node, string Device) : ITrialMessage;

/// <summary>Worker → trial entity, as each epoch ends.</summary>
public sealed record EpochCompleted(string TrialId, int Attempt, EpochMetrics Metrics) : ITrialMessage;

/// <summary>Worker → trial entity: the trial finished; carries every epoch so the outcome is complete even if an
/// epoch message was lost. Acknowledged with <see cref="OutcomeRecorded"/>; the worker resends until then.</summary>
public sealed record TrialCompleted(string TrialId, int Attempt, string Node, string Device,
    IReadOnlyList<EpochMetrics> Epochs, TrialSummary Summary) : ITrialMessage;

/// <summary>Worker → trial entity: the attempt failed (NaN loss, exception). Acknowledged like TrialCompleted.</summary>
public sealed record TrialFailed(string TrialId, int Attempt, string Node, string Device, string Reason) : ITrialMessage;

/// <summary>Trial entity → worker: the outcome is persisted; the worker may take new work.</summary>
public sealed record OutcomeRecorded(string TrialId, int Attempt) : IClusterMessage;

/// <summary>Anyone → trial entity: reply with its <see cref="TrialState"/>.</summary>
public sealed record GetTrialState(string TrialId) : ITrialMessage;

public enum TrialStatus { Queued, Running, Completed, Failed }

/// <summary>What the journal knows of one trial. Failures counts failed attempts; whether the trial has finally failed
/// is the coordinator's decision (failures beyond the retry budget).</summary>
public sealed record TrialState(
    string TrialId,
    TrialStatus Status,
    int Attempt,
    int Failures,
    string? Node,
    string? Device,
    IReadOnlyList<EpochMetrics> Epochs,
    TrialSummary? Summary,
    string? LastFailure) : IClusterMessage
{
    public static TrialState New(string trialId) => new(trialId, TrialStatus.Queued, 0, 0, null, null, [], null, null);
}
