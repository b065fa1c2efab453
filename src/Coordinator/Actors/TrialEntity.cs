using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Persistence;
using SamCluster.Coordinator.Lifecycle;
using SamCluster.RunStore;
using SamCluster.Coordinator.Serialization;
using SamCluster.Messages;

namespace SamCluster.Coordinator.Actors;

/// <summary>Trial entity → grid coordinator (same process: both live on the coordinator role): an event just journaled,
/// and the trial's state version after it.</summary>
public sealed record TrialEventPublished(ITrialEvent Event, long Version);

/// <summary>Trial entity → grid coordinator: the trial's journal cannot be replayed (a damaged event).</summary>
public sealed record TrialJournalUnreadable(string TrialId, string Problem);

/// <summary>Trial entity → grid coordinator: the journal's server cannot be reached (refused, silent, shut down) while
/// the trial recovered or journaled an event; <paramref name="Cause"/> is the journal's own error. The journal is intact.</summary>
public sealed record TrialJournalUnreachable(string TrialId, Exception Cause);

/// <summary>Trial entity → grid coordinator: an event could not be journaled because the journal's disk is full.</summary>
public sealed record TrialJournalFull(string TrialId);

/// <summary>
/// One trial of the grid as a sharded, persistent entity (persistence id "trial-&lt;trial id&gt;"): the single owner of
/// the trial's state. Commands go through <see cref="TrialDecider.Decide"/>; the events it returns are journaled, folded
/// into the state with <see cref="TrialDecider.Apply"/>, and published to the grid coordinator, whose observers (tables,
/// logs, progress) read them. The reply goes out once the events are persisted.
/// </summary>
public sealed class TrialEntity : ReceivePersistentActor
{
    readonly IActorRef _coordinator;
    TrialState _state;

    public override string PersistenceId { get; }

    public TrialEntity(string trialId, IActorRef coordinator)
    {
        _coordinator = coordinator;
        _state = TrialState.New(trialId);
        PersistenceId = "trial-" + trialId;

        Recover<ITrialEvent>(e => _state = TrialDecider.Apply(_state, e));
        Recover<ILegacyTrialRecord>(old => _state = TrialDecider.ApplyAll(_state, LegacyJournal.Upcast(_state, old)));

        Command<GetTrialState>(_ => Sender.Tell(_state));
        Command<ITrialMessage>(Handle);
    }

    /// <summary>A journal that cannot be replayed would be retried for ever, so say so at once; the coordinator ends
    /// the run with the trial named, leaving the folder as it is.</summary>
    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        // A server that cannot be reached reads nothing: that is not a damaged journal, and must not be told as one.
        if (JournalErrors.Unreachable(reason) is not null)
        {
            _coordinator.Tell(new TrialJournalUnreachable(_state.TrialId, reason));
            base.OnRecoveryFailure(reason, message);
            return;
        }
        var problem = reason is { InnerException: { } inner } && reason.Message.Contains("recovery", StringComparison.OrdinalIgnoreCase)
            ? inner.Message : reason.Message;
        _coordinator.Tell(new TrialJournalUnreadable(_state.TrialId, problem));
        base.OnRecoveryFailure(reason, message);
    }

    /// <summary>Akka stops the entity (the event is not applied); a full disk or a journal server gone would fail every
    /// write after it, so the coordinator is told and ends the run.</summary>
    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        if (JournalErrors.IsDiskFull(cause)) _coordinator.Tell(new TrialJournalFull(_state.TrialId));
        else if (JournalErrors.Unreachable(cause) is not null) _coordinator.Tell(new TrialJournalUnreachable(_state.TrialId, cause));
        base.OnPersistFailure(cause, @event, sequenceNr);
    }

    void Handle(ITrialMessage command)
    {
        var decision = TrialDecider.Decide(_state, command, DateTimeOffset.UtcNow);
        var replyTo = Sender;
        if (decision.Events.Count == 0)
        {
            if (decision.Reply is { } reply) replyTo.Tell(reply);
            return;
        }
        var last = decision.Events[^1];
        PersistAll(decision.Events, e =>
        {
            _state = TrialDecider.Apply(_state, e);
            _coordinator.Tell(new TrialEventPublished(e, _state.Version));
            if (ReferenceEquals(e, last) && decision.Reply is { } reply) replyTo.Tell(reply);
        });
    }

    public static Props Props(string trialId, IActorRef coordinator) =>
        Akka.Actor.Props.Create(() => new TrialEntity(trialId, coordinator));
}
