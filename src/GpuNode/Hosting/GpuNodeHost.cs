using Akka.Actor;
using Akka.Cluster;
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
/// A GPU node process (<see cref="GpuNodeRole"/>). If the node loses the coordinator (it restarted, or the network split),
/// the node's actor system is downed; <see cref="RunAsync"/> then starts a fresh one and rejoins, backing off.
/// </summary>
public static class GpuNodeHost
{
    /// <param name="akkaLog">Where Akka and the host log (<see cref="AkkaLog.For"/>).</param>
    public static IHost Build(GpuNodeHostOptions options, ITrialExecutor executor, Serilog.ILogger akkaLog)
    {
        if (options.Member.Role != ClusterMember.GpuRole)
            throw new ArgumentException($"a GPU node's role is '{ClusterMember.GpuRole}', not '{options.Member.Role}'", nameof(options));
        return ClusterMember.BuildHost(akkaLog, akka => akka.AddClusterMember(options.Member).AddGpuNodeRole(options.Role, executor));
    }

    /// <summary>
    /// Runs the node until <paramref name="stop"/>: joins, works, and rejoins with backoff whenever the coordinator is
    /// lost. The first join must succeed within the join timeout, else the coordinator is taken to be unreachable.
    /// </summary>
    /// <param name="log">The node's own lines; Akka and the host log there too, through <see cref="AkkaLog.For"/>.</param>
    /// <exception cref="UserInputException">The coordinator never answered within the join timeout.</exception>
    public static async Task RunAsync(GpuNodeHostOptions options, ITrialExecutor executor, Serilog.ILogger log, CancellationToken stop)
    {
        var (member, role) = (options.Member, options.Role);
        using var akkaLog = AkkaLog.For(log);
        var backoff = TimeSpan.FromSeconds(1);
        var everJoined = false;
        ActorSystem? current = null;   // the health endpoints follow the node's actor system across rejoins
        await using var health = options.Health is { } endpoint
            ? await ClusterHealth.StartAsync(endpoint, () => current, akkaLog, stop)
            : null;
        if (options.Health is { } shown) log.Information("Health: {Url} (and {Alive})", shown.ReadyUrl, ClusterHealth.AlivePath);
        while (!stop.IsCancellationRequested)
        {
            using var host = Build(options, executor, akkaLog);
            await host.StartAsync(stop);
            var system = current = host.Services.GetRequiredService<ActorSystem>();
            var join = await WaitUntilUp(system, options.JoinTimeout, stop);
            var coordinatorLeft = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (join == JoinResult.Up)
            {
                log.Information("Node {Node} joined the cluster at {Host}:{Port} with {Workers} workers on {Devices}",
                    role.NodeName, member.SeedHost, member.SeedPort, role.Workers, string.Join(",", role.Devices));
                everJoined = true;
                backoff = TimeSpan.FromSeconds(1);
                system.ActorOf(CoordinatorDepartureWatch.Props(coordinatorLeft), "coordinator-departure-watch");
                await Task.WhenAny(system.WhenTerminated, Task.Delay(Timeout.Infinite, stop));
            }
            await host.StopAsync(CancellationToken.None);
            if (stop.IsCancellationRequested) break;
            // Only silence from the start means the coordinator is unreachable; a node downed while joining (the
            // cluster was still removing crashed members) or after working simply tries again.
            if (join == JoinResult.TimedOut && !everJoined)
                throw new UserInputException(
                    $"cannot reach the coordinator at {member.SeedHost}:{member.SeedPort} (no answer within {options.JoinTimeout.TotalSeconds:0} s)");
            // One line per attempt. A coordinator that left on purpose (its grid is done, or it was stopped) is no fault.
            if (coordinatorLeft.Task.IsCompleted)
                log.Information("The coordinator at {Host}:{Port} left the cluster (its grid is done, or it was stopped); rejoining in {Backoff:0} s",
                    member.SeedHost, member.SeedPort, backoff.TotalSeconds);
            else
                log.Warning(join switch
                    {
                        JoinResult.Up => "Lost the coordinator at {Host}:{Port}; rejoining in {Backoff:0} s",
                        JoinResult.TimedOut => "No answer from the coordinator at {Host}:{Port}; trying again in {Backoff:0} s",
                        _ => "Not admitted to the cluster at {Host}:{Port}; trying again in {Backoff:0} s",
                    },
                    member.SeedHost, member.SeedPort, backoff.TotalSeconds);
            try { await Task.Delay(backoff, stop); } catch (OperationCanceledException) { break; }
            backoff = TimeSpan.FromSeconds(Math.Min(30, backoff.TotalSeconds * 2));
        }
    }

    enum JoinResult { Up, Terminated, TimedOut }

    static async Task<JoinResult> WaitUntilUp(ActorSystem system, TimeSpan timeout, CancellationToken stop)
    {
        var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Cluster.Get(system).RegisterOnMemberUp(() => up.TrySetResult());
        var finished = await Task.WhenAny(up.Task, system.WhenTerminated, Task.Delay(timeout, stop).ContinueWith(_ => { }));
        // The coordinator answered (we are a joining member) but admission waits for crashed members to be downed:
        // that is not an unreachable coordinator, so keep waiting.
        if (finished != up.Task && finished != system.WhenTerminated && !stop.IsCancellationRequested
            && Cluster.Get(system).State.Members.Count > 0)
            finished = await Task.WhenAny(up.Task, system.WhenTerminated, Task.Delay(Timeout.Infinite, stop).ContinueWith(_ => { }));
        return finished == up.Task ? JoinResult.Up : finished == system.WhenTerminated ? JoinResult.Terminated : JoinResult.TimedOut;
    }
}
