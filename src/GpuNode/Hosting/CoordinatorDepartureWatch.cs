using Akka.Actor;
using Akka.Cluster;
using SamCluster.Hosting;

namespace SamCluster.GpuNode.Hosting;

/// <summary>Completes <c>left</c> when the coordinator leaves the cluster on purpose (Leaving, Exiting) — seen before
/// this node's actor system stops, since a member's last view of a cluster it has left no longer has the coordinator.</summary>
public sealed class CoordinatorDepartureWatch : ReceiveActor
{
    public static Props Props(TaskCompletionSource left) => Akka.Actor.Props.Create(() => new CoordinatorDepartureWatch(left));

    public CoordinatorDepartureWatch(TaskCompletionSource left)
    {
        Receive<ClusterEvent.MemberLeft>(m => { if (m.Member.HasRole(ClusterMember.CoordinatorRole)) left.TrySetResult(); });
        Receive<ClusterEvent.MemberExited>(m => { if (m.Member.HasRole(ClusterMember.CoordinatorRole)) left.TrySetResult(); });
    }

    protected override void PreStart() =>
        Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
            typeof(ClusterEvent.MemberLeft), typeof(ClusterEvent.MemberExited));

    protected override void PostStop() => Cluster.Get(Context.System).Unsubscribe(Self);
}
