using Akka.Cluster.Sharding;
using SamCluster.Messages;

namespace SamCluster.Hosting;

/// <summary>Akka.Hosting registry key of the trial shard region (the region on the coordinator, a proxy on a node).</summary>
public sealed class TrialShardRegion;

/// <summary>Akka.Hosting registry key of the grid coordinator singleton (its proxy, on every member).</summary>
public sealed class GridCoordinatorSingleton;

/// <summary>Routes every <see cref="ITrialMessage"/> to the entity named by its trial id: the region and its proxies
/// must agree on it, so both roles take this one.</summary>
public sealed class TrialMessageExtractor() : HashCodeMessageExtractor(maxNumberOfShards: 32)
{
    public override string? EntityId(object message) => message is ITrialMessage m ? m.TrialId : null;
}
