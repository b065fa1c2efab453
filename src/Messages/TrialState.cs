using System.Text.Json.Serialization;

namespace SamCluster.Messages;

/// <summary>Where a trial stands. Failed means its latest attempt failed; whether it is retried is the scheduler's call
/// (the retry budget), so a Failed trial may still be queued again.</summary>
public enum TrialStatus { Queued, Running, Completed, Failed }

/// <summary>Where one attempt stands: Offered (handed out, not yet accepted), Running, then one of the three ends.</summary>
public enum AttemptPhase { Offered, Running, Completed, Failed, Released }

/// <summary>One attempt of a trial as its events left it.</summary>
/// <param name="Reports">Worker reports applied so far (the next one must carry Seq = Reports + 1).</param>
/// <param name="ResumedFrom">The checkpoint it started from (null: epoch 0, or not reported yet).</param>
/// <param name="Epochs">Its own epochs, after the resume point.</param>
/// <param name="Checkpoint">Its newest checkpoint.</param>
/// <param name="Outcome">Why it failed or was released.</param>
/// <param name="Conditions">What its time is measured under (<see cref="AttemptStarted.Conditions"/>).</param>
public sealed record AttemptRecord(
    int Number,
    string WorkerId,
    string Node,
    string Device,
    AttemptPhase Phase,
    int Reports,
    bool ResumeReported,
    CheckpointRef? ResumedFrom,
    IReadOnlyList<EpochMetrics> Epochs,
    CheckpointRef? Checkpoint,
    string? Outcome,
    TrialConditions? Conditions = null)
{
    [JsonIgnore] public bool IsOpen => Phase is AttemptPhase.Offered or AttemptPhase.Running;
}

/// <summary>What the journal knows of one trial: the fold of its events (TrialDecider.Apply).</summary>
/// <param name="Version">Events folded in so far; lets a reader of published events skip those it already has.</param>
public sealed record TrialState(
    string TrialId,
    TrialStatus Status,
    IReadOnlyList<AttemptRecord> Attempts,
    TrialSummary? Summary,
    CheckpointRef? Weights,
    long Version = 0) : IClusterMessage
{
    public static TrialState New(string trialId) => new(trialId, TrialStatus.Queued, [], null, null);

    [JsonIgnore] public AttemptRecord? Current => Attempts.Count == 0 ? null : Attempts[^1];

    /// <summary>The newest attempt's number (0 before the first hand-out).</summary>
    [JsonIgnore] public int Attempt => Current?.Number ?? 0;

    [JsonIgnore] public int Failures => Attempts.Count(a => a.Phase == AttemptPhase.Failed);

    [JsonIgnore] public string? LastFailure => Attempts.LastOrDefault(a => a.Phase == AttemptPhase.Failed)?.Outcome;

    [JsonIgnore] public string? Node => Current?.Node;

    [JsonIgnore] public string? Device => Current?.Device;

    [JsonIgnore] public TrialConditions? Conditions => Current?.Conditions;

    /// <summary>The trial's epochs as its newest attempt sees them: those of the attempt it resumed from, up to the
    /// checkpoint, then its own.</summary>
    [JsonIgnore] public IReadOnlyList<EpochMetrics> Epochs => Current is { } a ? History(a.Number) : [];

    public IReadOnlyList<EpochMetrics> History(int attempt)
    {
        var record = Attempts.FirstOrDefault(a => a.Number == attempt);
        if (record is null) return [];
        // A checkpoint always comes from an earlier attempt, so this recursion ends.
        var inherited = record.ResumedFrom is { } from && from.Attempt < attempt
            ? History(from.Attempt).Where(e => e.Epoch <= from.Epoch)
            : [];
        return [.. inherited, .. record.Epochs];
    }

    /// <summary>Checkpoints a new attempt may resume from, best first: each attempt's newest, highest epoch first.</summary>
    [JsonIgnore] public IReadOnlyList<CheckpointRef> ResumeCandidates =>
        Attempts.Where(a => a.Checkpoint is not null).Select(a => a.Checkpoint!)
            .OrderByDescending(c => c.Epoch).ThenByDescending(c => c.Attempt).ToList();
}
