using Akka.Actor;
using Akka.Persistence;
using SamCluster.Messages;
using SamCluster.RunStore;

namespace SamCluster.Coordinator.Actors;

/// <summary>
/// A sequential study's decided looks, journaled beside the trials (persistence id "looks"): the grid coordinator's
/// child, started only for a grid with `sequential`. A decision is journaled before anything acts on it, so a coordinator
/// restarted between a look's last trial and its decision decides once, and one restarted after it reads it back.
/// </summary>
public sealed class LookJournal : ReceivePersistentActor
{
    // ---- protocol (local to the coordinator process) ----
    /// <summary>Reply: <see cref="Decisions"/>, every look decided so far, in journal order.</summary>
    public sealed record GetDecisions
    {
        public static readonly GetDecisions Instance = new();
    }

    public sealed record Decisions(IReadOnlyList<LookDecided> Looks);

    /// <summary>Journal this decision; the reply is <see cref="Recorded"/> once it is.</summary>
    public sealed record Record(LookDecided Look);

    public sealed record Recorded(LookDecided Look);

    /// <summary>What journal failures are told as: the trial entities' messages, naming this journal.</summary>
    public const string Name = "the look decisions";

    readonly List<LookDecided> _looks = [];
    readonly IActorRef _coordinator;

    public override string PersistenceId => "looks";

    public LookJournal(IActorRef coordinator)
    {
        _coordinator = coordinator;
        Recover<LookDecided>(_looks.Add);
        Command<GetDecisions>(_ => Sender.Tell(new Decisions(_looks.ToList())));
        Command<Record>(r =>
        {
            var replyTo = Sender;
            Persist(r.Look, e =>
            {
                _looks.Add(e);
                replyTo.Tell(new Recorded(e));
            });
        });
    }

    public static Props Props(IActorRef coordinator) => Akka.Actor.Props.Create(() => new LookJournal(coordinator));

    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        if (JournalErrors.Unreachable(reason) is not null) _coordinator.Tell(new TrialJournalUnreachable(Name, reason));
        else _coordinator.Tell(new TrialJournalUnreadable(Name, reason.InnerException?.Message ?? reason.Message));
        base.OnRecoveryFailure(reason, message);
    }

    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        if (JournalErrors.IsDiskFull(cause)) _coordinator.Tell(new TrialJournalFull(Name));
        else if (JournalErrors.Unreachable(cause) is not null) _coordinator.Tell(new TrialJournalUnreachable(Name, cause));
        else _coordinator.Tell(new Status.Failure(cause));
        base.OnPersistFailure(cause, @event, sequenceNr);
    }
}
