using Akka.Actor;
using SamCluster.Coordinator.Actors;
using SamCluster.Messages;

namespace SamCluster.Tests.Cluster;

/// <summary>Stands in for the shard region inside one test actor system: routes each trial message to a
/// <see cref="TrialEntity"/> child named by its id (in-memory journal), creating it on first use.</summary>
/// Entities reach the coordinator through a forwarder, as they reach it through the singleton proxy in a real
/// cluster: a restarted coordinator is found again.
sealed class LocalTrialRegion : ReceiveActor
{
    public LocalTrialRegion(Func<IActorRef> coordinator)
    {
        var proxy = Context.ActorOf(Props.Create(() => new Forwarder(coordinator)), "coordinator-proxy");
        Receive<ITrialMessage>(m =>
        {
            var name = Uri.EscapeDataString(m.TrialId);
            var child = Context.Child(name);
            if (child.IsNobody()) child = Context.ActorOf(TrialEntity.Props(m.TrialId, proxy), name);
            child.Forward(m);
        });
    }

    sealed class Forwarder : ReceiveActor
    {
        public Forwarder(Func<IActorRef> target) => ReceiveAny(m => target().Forward(m));
    }
}
