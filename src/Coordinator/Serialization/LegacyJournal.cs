using SamCluster.Messages;

namespace SamCluster.Coordinator.Serialization;

/// <summary>Turns old records into the events they amount to, given the state so far.</summary>
public static class LegacyJournal
{
    public static IEnumerable<ITrialEvent> Upcast(TrialState state, ILegacyTrialRecord record) => record switch
    {
        LegacyTrialStarted s => Started(s.TrialId, s.Attempt, s.WorkerId, s.Node, s.Device),
        LegacyEpochCompleted e => [new EpochRecorded(e.TrialId, e.Attempt, e.Metrics)],
        LegacyTrialCompleted c => [.. Ensure(state, c.TrialId, c.Attempt, c.Node, c.Device),
            .. c.Epochs.Where(e => e.Epoch > LastEpoch(state, c.Attempt)).Select(e => new EpochRecorded(c.TrialId, c.Attempt, e)),
            new TrialCompleted(c.TrialId, c.Attempt, c.Summary, null)],
        LegacyTrialFailed f => [.. Ensure(state, f.TrialId, f.Attempt, f.Node, f.Device), new AttemptFailed(f.TrialId, f.Attempt, f.Reason)],
        _ => [],
    };

    static IEnumerable<ITrialEvent> Started(string trialId, int attempt, string worker, string node, string device) =>
    [
        new AttemptStarted(trialId, attempt, worker, node, device, DateTimeOffset.MinValue),
        new AttemptAccepted(trialId, attempt),
        new AttemptResumed(trialId, attempt, null, ""),
    ];

    static IEnumerable<ITrialEvent> Ensure(TrialState state, string trialId, int attempt, string node, string device) =>
        state.Attempts.Any(a => a.Number == attempt) ? [] : Started(trialId, attempt, "", node, device);

    static int LastEpoch(TrialState state, int attempt) =>
        state.Attempts.FirstOrDefault(a => a.Number == attempt)?.Epochs.LastOrDefault()?.Epoch ?? 0;
}
