namespace SamCluster.Messages;

/// <summary>A record of the journal format before trial events existed (the entity journaled the wire commands).
/// Read back only, so run folders made by earlier versions still resume.</summary>
public interface ILegacyTrialRecord : IClusterMessage;

public sealed record LegacyTrialStarted(string TrialId, int Attempt, string WorkerId, string Node, string Device) : ILegacyTrialRecord;

public sealed record LegacyEpochCompleted(string TrialId, int Attempt, EpochMetrics Metrics) : ILegacyTrialRecord;

public sealed record LegacyTrialCompleted(string TrialId, int Attempt, string Node, string Device,
    IReadOnlyList<EpochMetrics> Epochs, TrialSummary Summary) : ILegacyTrialRecord;

public sealed record LegacyTrialFailed(string TrialId, int Attempt, string Node, string Device, string Reason) : ILegacyTrialRecord;
