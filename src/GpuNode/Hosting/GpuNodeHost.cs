using Akka.Actor;
using Akka.Cluster;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SamCluster.Hosting;
using SamCluster.Hosting.Logging;
using SamCluster.Messages;

namespace SamCluster.GpuNode.Hosting;

/// <summary>How to run a GPU node process: it as a cluster member (role "gpu", the coordinator its seed), its role, how
/// long the first join may take, and where its health endpoints listen (none if null).</summary>
public sealed record GpuNodeHostOptions(ClusterMemberOptions Member, GpuNodeRoleOptions Role, TimeSpan JoinTimeout, HealthEndpoint? Health = null);

/// <summary>
/// A GPU node process (<see cref="GpuNodeRole"/>), a service that outlives any coordinator: it serves whichever coordinator
/// runs at its seed address. When the coordinator goes — its grid done, stopped, crashed, or cut off — the node leaves
/// whatever is left of the cluster (the other nodes), starts a fresh actor system and waits to join the next coordinator
/// at the same address, saying so in one line each time.
/// </summary>
public static class GpuNodeHost
{
    /// <param name="akkaLog">Where Akka and the host log (<see cref="AkkaLog.For"/>).</param>
    public static IHost Build(GpuNodeHostOptions options, ITrialExecutor executor, Serilog.ILogger akkaLog)
    {
        if (options.Member.Role != ClusterMember.GpuRole)
            throw new ArgumentException($"a GPU node's role is '{ClusterMember.GpuRole}', not '{options.Member.Role}'", nameof(options));
        return ClusterMember.BuildHost(akkaLog, akka => akka.AddClusterMember(options.Member)
            .AddHocon(OneWayToStop, HoconAddMode.Prepend)
            .AddGpuNodeRole(options.Role, executor));
    }

    /// <summary>A node stops one way: <see cref="RunAsync"/>'s token (SIGTERM, Ctrl-C, `local` ending) stops its host.
    /// Akka's own exit hook would also end the actor system on SIGTERM, beside that stop: a system the rejoin loop was
    /// starting at that moment then failed its start ("Cannot create child while terminating", a critical line and a
    /// trace for a clean stop).</summary>
    const string OneWayToStop = "akka.coordinated-shutdown.run-by-clr-shutdown-hook = off";

    /// <summary>
    /// Runs the node until <paramref name="stop"/>: joins, works, and when the coordinator goes, leaves and waits for the
    /// next one. The first join must succeed within the join timeout, else the coordinator is taken to be unreachable;
    /// after that the node waits for a coordinator as long as it runs (Akka asks the seed again every few seconds, so a
    /// coordinator started later has the node within seconds). A fresh actor system that is itself refused or downed
    /// before it joins is started again with backoff.
    /// </summary>
    /// <param name="log">The node's own lines; Akka and the host log there too, through <see cref="AkkaLog.For"/>.</param>
    /// <exception cref="UserInputException">The coordinator never answered within the join timeout.</exception>
    public static async Task RunAsync(GpuNodeHostOptions options, ITrialExecutor executor, Serilog.ILogger log, CancellationToken stop)
    {
        var (member, role) = (options.Member, options.Role);
        using var akkaLog = AkkaLog.For(log);
        var backoff = MinBackoff;
        var everJoined = false;
        ActorSystem? current = null;   // the health endpoints follow the node's actor system across rejoins
        await using var health = options.Health is { } endpoint
            ? await ClusterHealth.StartAsync(endpoint, () => current, akkaLog, stop)
            : null;
        if (options.Health is { } shown) log.Information("Health: {Url} (and {Alive})", shown.ReadyUrl, ClusterHealth.AlivePath);
        while (!stop.IsCancellationRequested)
        {
            using var host = Build(options, executor, akkaLog);
            // Started whole even if the stop comes meanwhile (a second at most): the wait below then returns at once and
            // the host stops in order, where a start cut short would leave a half-started actor system.
            await host.StartAsync(CancellationToken.None);
            var system = current = host.Services.GetRequiredService<ActorSystem>();
            var join = await WaitUntilUp(system, everJoined ? Timeout.InfiniteTimeSpan : options.JoinTimeout, stop);
            var coordinatorLeft = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (join == JoinResult.Up)
            {
                log.Information("Node {Node} joined the cluster at {Host}:{Port} with {Workers} on {Devices}",
                    role.NodeName, member.SeedHost, member.SeedPort, ConsoleText.Count(role.Workers, "worker"), string.Join(",", role.Devices));
                everJoined = true;
                backoff = MinBackoff;
                system.ActorOf(CoordinatorDepartureWatch.Props(coordinatorLeft), "coordinator-departure-watch");
                // A coordinator that leaves on purpose leaves the nodes a cluster of their own, which nothing downs: the
                // node leaves it (stopping the host below) rather than wait in it for ever.
                await Task.WhenAny(system.WhenTerminated, coordinatorLeft.Task, Task.Delay(Timeout.Infinite, stop));
            }
            await host.StopAsync(CancellationToken.None);
            if (stop.IsCancellationRequested) break;
            // Only silence from the start means the coordinator is unreachable; a node downed while joining (the
            // cluster was still removing crashed members) or after working simply tries again.
            if (join == JoinResult.TimedOut && !everJoined)
                throw new UserInputException(
                    $"cannot reach the coordinator at {member.SeedHost}:{member.SeedPort} (no answer within {options.JoinTimeout.TotalSeconds:0} s)");
            // One line each time. A coordinator that left on purpose (its grid is done, or it was stopped) is no fault.
            if (coordinatorLeft.Task.IsCompleted)
                log.Information("The coordinator at {Host}:{Port} left the cluster (its grid is done, or it was stopped); waiting for the next coordinator there",
                    member.SeedHost, member.SeedPort);
            else
                log.Warning(join == JoinResult.Up
                        ? "Lost the coordinator at {Host}:{Port}; rejoining in {Backoff:0} s"
                        : "Not admitted to the cluster at {Host}:{Port}; trying again in {Backoff:0} s",
                    member.SeedHost, member.SeedPort, backoff.TotalSeconds);
            try { await Task.Delay(backoff, stop); } catch (OperationCanceledException) { break; }
            if (join != JoinResult.Up) backoff = TimeSpan.FromSeconds(Math.Min(MaxBackoff.TotalSeconds, backoff.TotalSeconds * 2));
        }
    }

    static readonly TimeSpan MinBackoff = TimeSpan.FromSeconds(1), MaxBackoff = TimeSpan.FromSeconds(30);

    enum JoinResult { Up, Terminated, TimedOut }

    static async Task<JoinResult> WaitUntilUp(ActorSystem system, TimeSpan timeout, CancellationToken stop)
    {
        var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Cluster.Get(system).RegisterOnMemberUp(() => up.TrySetResult());
        // Timeout.InfiniteTimeSpan: wait as long as the node runs (Akka keeps asking the seed).
        var finished = await Task.WhenAny(up.Task, system.WhenTerminated, Task.Delay(timeout, stop).ContinueWith(_ => { }));
        // The coordinator answered (we are a joining member) but admission waits for crashed members to be downed:
        // that is not an unreachable coordinator, so keep waiting.
        if (finished != up.Task && finished != system.WhenTerminated && !stop.IsCancellationRequested
            && Cluster.Get(system).State.Members.Count > 0)
            finished = await Task.WhenAny(up.Task, system.WhenTerminated, Task.Delay(Timeout.Infinite, stop).ContinueWith(_ => { }));
        return finished == up.Task ? JoinResult.Up : finished == system.WhenTerminated ? JoinResult.Terminated : JoinResult.TimedOut;
    }
}
