using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using Akka.Persistence;
using SamCluster.Messages;

namespace SamCluster.Coordinator.Actors;

/// <summary>Key under which the trial shard region is registered with Akka.Hosting.</summary>
public sealed class TrialShardRegion;

/// <summary>Routes every <see cref="ITrialMessage"/> to the entity named by its trial id.</summary>
public sealed class TrialMessageExtractor() : HashCodeMessageExtractor(maxNumberOfShards: 32)
{
    public override string? EntityId(object message) => message is ITrialMessage m ? m.TrialId : null;
}

/// <summary>
/// One trial of the grid as a sharded, persistent entity (persistence id "trial-&lt;trial id&gt;"). Workers anywhere report
/// to it by id; it journals what they report (start, epochs, outcome), acknowledges outcomes so workers can stop
/// resending, and tells the grid coordinator. Its journal is what a restarted coordinator reads back.
/// Duplicates (resent outcomes, reports of a superseded attempt) are ignored, so each trial finishes exactly once.
/// </summary>
public sealed class TrialEntity : ReceivePersistentActor
{
    readonly IActorRef _coordinator;
    readonly ILoggingAdapter _log = Context.GetLogger();
    TrialState _state;

    public override string PersistenceId { get; }

    public TrialEntity(string trialId, IActorRef coordinator)
    {
        _coordinator = coordinator;
        _state = TrialState.New(trialId);
        PersistenceId = "trial-" + trialId;

        Recover<IClusterMessage>(e => _state = Apply(_state, e));

        Command<GetTrialState>(_ => Sender.Tell(_state));

        Command<TrialStarted>(started =>
        {
            if (IsFinished || started.Attempt <= _state.Attempt) { Sender.Tell(_state); return; }
            Persist(started, e => { _state = Apply(_state, e); Sender.Tell(_state); });
        });

        Command<EpochCompleted>(epoch =>
        {
            // Only the current attempt's epochs count, and each epoch once.
            if (IsFinished || epoch.Attempt != _state.Attempt || _state.Epochs.Any(x => x.Epoch == epoch.Metrics.Epoch)) return;
            Persist(epoch, e => { _state = Apply(_state, e); _coordinator.Tell(_state); });
        });

        Command<TrialCompleted>(done => RecordOutcome(done, done.Attempt));
        Command<TrialFailed>(failed => RecordOutcome(failed, failed.Attempt));
    }

    bool IsFinished => _state.Status == TrialStatus.Completed;

    void RecordOutcome(ITrialMessage outcome, int attempt)
    {
        var sender = Sender;
        var ack = new OutcomeRecorded(_state.TrialId, attempt);
        // A resent or stale outcome: acknowledge (the worker must stop resending) but record nothing.
        var stale = IsFinished || attempt < _state.Attempt || (_state.Status == TrialStatus.Failed && attempt == _state.Attempt);
        if (stale)
        {
            _log.Debug("Ignoring outcome of attempt {0} for {1} (state {2}, attempt {3})", attempt, _state.TrialId, _state.Status, _state.Attempt);
            sender.Tell(ack);
            return;
        }
        Persist(outcome, e =>
        {
            _state = Apply(_state, e);
            sender.Tell(ack);
            _coordinator.Tell(_state);
        });
    }

    /// <summary>The state after one journaled event; used both live and on recovery.</summary>
    public static TrialState Apply(TrialState state, IClusterMessage e) => e switch
    {
        TrialStarted s => state with
        {
            Status = TrialStatus.Running, Attempt = s.Attempt, Node = s.Node, Device = s.Device, Epochs = [],
        },
        EpochCompleted ep => state with { Epochs = [.. state.Epochs, ep.Metrics] },
        TrialCompleted c => state with
        {
            Status = TrialStatus.Completed, Attempt = Math.Max(state.Attempt, c.Attempt), Node = c.Node, Device = c.Device,
            Epochs = c.Epochs.Count > 0 ? c.Epochs : state.Epochs, Summary = c.Summary,
        },
        TrialFailed f => state with
        {
            Status = TrialStatus.Failed, Attempt = Math.Max(state.Attempt, f.Attempt), Failures = state.Failures + 1,
            Node = f.Node, Device = f.Device, LastFailure = f.Reason,
        },
        _ => state,
    };

    public static Props Props(string trialId, IActorRef coordinator) =>
        Akka.Actor.Props.Create(() => new TrialEntity(trialId, coordinator));
}
