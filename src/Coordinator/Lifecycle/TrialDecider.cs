using SamCluster.Messages;

namespace SamCluster.Coordinator.Lifecycle;

/// <summary>What a command decides: the events to journal (in order) and the reply to send once they are persisted.</summary>
public sealed record Decision(IReadOnlyList<ITrialEvent> Events, IClusterMessage? Reply)
{
    public static Decision Nothing(IClusterMessage? reply = null) => new([], reply);
}

/// <summary>
/// The rules of one trial's life, as pure functions: <see cref="Decide"/> turns a command into events (or refuses it),
/// <see cref="Apply"/> folds an event into the state. The attempt number is the fencing token: a report of any attempt
/// but the newest — a late epoch or outcome from a node that was downed, partitioned or whose lease expired — is
/// answered <see cref="AttemptSuperseded"/> and never counted. A worker's reports are applied strictly in their order
/// (Seq), each once, so resends and duplicates change nothing.
/// </summary>
public static class TrialDecider
{
    public static Decision Decide(TrialState state, ITrialMessage command, DateTimeOffset now) => command switch
    {
        StartAttempt start => DecideStart(state, start, now),
        ReleaseAttempt release => state.Current is { IsOpen: true } open && open.Number == release.Attempt
            ? new Decision([new AttemptReleased(state.TrialId, release.Attempt, release.Why)], null)
            : Decision.Nothing(),
        IAttemptReport report => DecideReport(state, report),
        _ => throw new ArgumentException($"{command.GetType().Name} is not a trial command", nameof(command)),
    };

    static Decision DecideStart(TrialState state, StartAttempt start, DateTimeOffset now)
    {
        if (state.Status == TrialStatus.Completed)
            return Decision.Nothing(new StartRefused(state.TrialId, $"completed by attempt {state.Attempt}"));
        var next = state.Attempt + 1;
        var started = new AttemptStarted(state.TrialId, next, start.WorkerId, start.Node, start.Device, now, start.Conditions);
        // An open attempt being handed out again was lost to the scheduler: close it explicitly, so the journal says why
        // its late reports are refused.
        return state.Current is { IsOpen: true } open
            ? new Decision([new AttemptReleased(state.TrialId, open.Number, $"superseded by attempt {next}"), started], null)
            : new Decision([started], null);
    }

    static Decision DecideReport(TrialState state, IAttemptReport report)
    {
        var current = state.Current;
        if (current is null || report.Attempt != current.Number)
            return Decision.Nothing(new AttemptSuperseded(state.TrialId, report.Attempt,
                current is null ? "the trial has no such attempt" : $"attempt {report.Attempt} was superseded by attempt {current.Number}"));
        if (report.Seq <= current.Reports)
            return Decision.Nothing(new ReportAck(state.TrialId, current.Number, report.Seq)); // a resend
        if (!current.IsOpen)
            return Decision.Nothing(new AttemptSuperseded(state.TrialId, report.Attempt,
                $"attempt {report.Attempt} is {current.Phase.ToString().ToLowerInvariant()}{(current.Outcome is { } why ? $" ({why})" : "")}"));
        if (report.Seq > current.Reports + 1)
            return Decision.Nothing(); // an earlier report is still on its way; the worker resends in order

        var ack = new ReportAck(state.TrialId, current.Number, report.Seq);
        var events = Validate(state, current, report) is { } violation
            ? [new AttemptFailed(state.TrialId, current.Number, violation)]
            : Accept(state, current, report);
        return new Decision(events, ack);
    }

    /// <summary>Why a report in its turn still cannot be taken (a protocol violation, which fails the attempt), or null.</summary>
    static string? Validate(TrialState state, AttemptRecord current, IAttemptReport report)
    {
        var offered = current.Phase == AttemptPhase.Offered;
        switch (report)
        {
            case AcceptAttempt or RejectAttempt:
                return offered ? null : $"report {report.Seq} answers an assignment already answered";
            case var _ when offered:
                return $"report {report.Seq} ({report.GetType().Name}) came before the assignment was accepted";
            case ReportResume resume:
                if (current.ResumeReported) return "the resume point was reported twice";
                if (resume.From is { } from && (from.Attempt >= current.Number || from.Epoch < 1))
                    return $"resumed from an impossible checkpoint (attempt {from.Attempt}, epoch {from.Epoch})";
                return null;
            case ReportEpoch epoch:
                if (!current.ResumeReported) return $"epoch {epoch.Metrics.Epoch} came before the resume point";
                var expected = (state.History(current.Number).LastOrDefault()?.Epoch ?? 0) + 1;
                if (epoch.Metrics.Epoch != expected) return $"epoch {epoch.Metrics.Epoch} reported where epoch {expected} was due";
                if (epoch.Checkpoint is { } c && (c.Attempt != current.Number || c.Epoch != epoch.Metrics.Epoch))
                    return $"epoch {epoch.Metrics.Epoch}'s checkpoint names attempt {c.Attempt}, epoch {c.Epoch}";
                return null;
            case ReportCompleted completed:
                var history = state.History(current.Number);
                return completed.Summary.Epochs == history.Count && (history.Count == 0 || history[^1].Epoch == history.Count)
                    ? null
                    : $"completed with {completed.Summary.Epochs} epochs, but {history.Count} were reported";
            case ReportFailed:
                return null;
            default:
                return $"unknown report {report.GetType().Name}";
        }
    }

    static IReadOnlyList<ITrialEvent> Accept(TrialState state, AttemptRecord current, IAttemptReport report)
    {
        var id = state.TrialId;
        var n = current.Number;
        return report switch
        {
            AcceptAttempt => [new AttemptAccepted(id, n)],
            RejectAttempt reject => [new AttemptReleased(id, n, $"the worker refused it: {reject.Reason}")],
            ReportResume resume => [new AttemptResumed(id, n, resume.From, resume.Note)],
            ReportEpoch { Checkpoint: { } checkpoint } epoch => [new EpochRecorded(id, n, epoch.Metrics), new CheckpointRecorded(id, n, checkpoint)],
            ReportEpoch epoch => [new EpochRecorded(id, n, epoch.Metrics)],
            ReportCompleted completed => [new TrialCompleted(id, n, completed.Summary, completed.Weights)],
            // A full disk is not the trial's failure: it is released (no retry spent) and resumes once there is space.
            ReportFailed { NoSpaceAt: { } path } failed => [new AttemptReleased(id, n, failed.Reason, path)],
            ReportFailed failed => [new AttemptFailed(id, n, failed.Reason)],
            _ => throw new ArgumentException($"unknown report {report.GetType().Name}"),
        };
    }

    /// <summary>The state after one journaled event; used live and on recovery alike.</summary>
    public static TrialState Apply(TrialState state, ITrialEvent e) => Fold(state, e) with { Version = state.Version + 1 };

    static TrialState Fold(TrialState state, ITrialEvent e)
    {
        if (e is AttemptStarted s)
        {
            var record = new AttemptRecord(s.Attempt, s.WorkerId, s.Node, s.Device, AttemptPhase.Offered, 0, false, null, [], null, null, s.Conditions);
            return state with { Status = TrialStatus.Running, Attempts = [.. state.Attempts, record] };
        }
        var index = IndexOf(state, e.Attempt);
        if (index < 0) return state; // a journal never holds this; tolerate rather than refuse to recover
        var a = state.Attempts[index];
        var isCurrent = index == state.Attempts.Count - 1;
        AttemptRecord updated;
        var status = state.Status;
        TrialSummary? summary = state.Summary;
        CheckpointRef? weights = state.Weights;
        switch (e)
        {
            case AttemptAccepted:
                updated = a with { Phase = AttemptPhase.Running, Reports = a.Reports + 1 };
                break;
            case AttemptResumed r:
                updated = a with { ResumeReported = true, ResumedFrom = r.From, Reports = a.Reports + 1 };
                break;
            case EpochRecorded ep:
                updated = a with { Epochs = [.. a.Epochs, ep.Metrics], Reports = a.Reports + 1 };
                break;
            case CheckpointRecorded c:
                updated = a with { Checkpoint = c.Checkpoint };
                break;
            case TrialCompleted c:
                updated = a with { Phase = AttemptPhase.Completed, Reports = a.Reports + 1 };
                status = TrialStatus.Completed;
                summary = c.Summary;
                weights = c.Weights;
                break;
            case AttemptFailed f:
                updated = a with { Phase = AttemptPhase.Failed, Reports = a.Reports + 1, Outcome = f.Reason };
                if (isCurrent) status = TrialStatus.Failed;
                break;
            case AttemptReleased r:
                updated = a with { Phase = AttemptPhase.Released, Outcome = r.Why };
                if (isCurrent) status = TrialStatus.Queued;
                break;
            default:
                return state;
        }
        var attempts = state.Attempts.ToArray();
        attempts[index] = updated;
        return state with { Status = status, Attempts = attempts, Summary = summary, Weights = weights };
    }

    public static TrialState ApplyAll(TrialState state, IEnumerable<ITrialEvent> events) => events.Aggregate(state, Apply);

    static int IndexOf(TrialState state, int attempt)
    {
        for (var i = state.Attempts.Count - 1; i >= 0; i--)
            if (state.Attempts[i].Number == attempt) return i;
        return -1;
    }
}
