using Akka.Cluster.Hosting;
using Akka.Hosting;
using SamCluster.Hosting;
using SamCluster.Messages;

namespace SamCluster.GpuNode.Hosting;

/// <summary>What the GPU node role runs: its name, its devices and trials per device, how often a worker repeats an
/// unanswered report, and what the node says of itself.</summary>
/// <param name="Devices">Devices to use ("cpu", "cuda:0", ...); one worker per device and slot.</param>
public sealed record GpuNodeRoleOptions(
    string NodeName,
    IReadOnlyList<string> Devices,
    int SlotsPerDevice,
    TimeSpan ResendInterval,
    NodeFacts? Facts = null)
{
    public int Workers => Devices.Count * SlotsPerDevice;

    /// <summary>What its workers say of packs (<see cref="WorkerReady.Pack"/>): the node's --pack, or as the grid says.</summary>
    public int? Pack { get; init; } = WorkerReady.PackAsGridSays;
}

/// <summary>
/// The GPU node role's Akka wiring: proxies to the trial shard region and to the grid coordinator singleton (both live
/// on the coordinator role), and one <see cref="TrialWorker"/> per device slot.
/// </summary>
public static class GpuNodeRole
{
    public static AkkaConfigurationBuilder AddGpuNodeRole(this AkkaConfigurationBuilder akka, GpuNodeRoleOptions role, ITrialExecutor executor) =>
        akka.WithShardRegionProxy<TrialShardRegion>(ClusterMember.TrialsTypeName, ClusterMember.CoordinatorRole, new TrialMessageExtractor())
            // Not finding the coordinator while joining is normal; never finding it is the join timeout's one line.
            .WithSingletonProxy<GridCoordinatorSingleton>(ClusterMember.CoordinatorSingletonName,
                new ClusterSingletonOptions { Role = ClusterMember.CoordinatorRole, LogSingletonIdentificationFailure = false })
            .WithActors((system, registry) =>
            {
                var coordinator = registry.Get<GridCoordinatorSingleton>();
                var trials = registry.Get<TrialShardRegion>();
                var index = 0;
                foreach (var device in role.Devices)
                    for (var slot = 0; slot < role.SlotsPerDevice; slot++, index++)
                    {
                        var workerSlot = new TrialWorker.Slot($"w{index}", role.NodeName, device, role.Facts);
                        system.ActorOf(TrialWorker.Props(workerSlot, coordinator, trials, executor, role.ResendInterval, role.Pack), "worker-" + index);
                    }
            });
}
