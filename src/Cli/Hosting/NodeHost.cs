using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Hosting;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SamCluster.Coordinator.Actors;
using SamCluster.Coordinator.Run;
using SamCluster.GpuNode;
using SamCluster.Messages;
using Serilog.Extensions.Logging;

namespace SamCluster.Cli.Hosting;

/// <summary>How to start a GPU node.</summary>
/// <param name="Devices">Devices to use ("cpu", "cuda:0", ...); one worker per device and slot.</param>
public sealed record NodeSettings(
    string CoordinatorHost,
    int CoordinatorPort,
    string Host,
    int Port,
    string? PublicHost,
    string NodeName,
    IReadOnlyList<string> Devices,
    int SlotsPerDevice,
    TimeSpan JoinTimeout,
    TimeSpan ResendInterval,
    string RemotingTlsHocon = "",
    bool Verbose = false,
    NodeFacts? Facts = null,
    HealthEndpoint? Health = null);

/// <summary>
/// A GPU node process (role "gpu"): one <see cref="TrialWorker"/> per device slot, talking to the coordinator singleton
/// and the trial shard region through proxies. If the node loses the coordinator (it restarted, or the network split),
/// the node's actor system is downed; <see cref="RunAsync"/> then starts a fresh one and rejoins, backing off.
/// </summary>
public static class NodeHost
{
    /// <param name="akkaLog">Where Akka and the host log (<see cref="AkkaLog.For"/>).</param>
    public static IHost Build(NodeSettings settings, ITrialExecutor executor, Serilog.ILogger akkaLog)
    {
        var seed = ClusterHocon.SeedAddress(settings.CoordinatorHost, settings.CoordinatorPort, tls: settings.RemotingTlsHocon != "");
        return new HostBuilder().ConfigureServices(services =>
        {
            Serilog.Log.Logger = akkaLog; // where Akka.Logger.Serilog writes
            services.AddSingleton<ILoggerFactory>(new SerilogLoggerFactory(akkaLog));
            services.AddAkka(ClusterHocon.SystemName, (akka, _) =>
            {
                akka.AddHocon(ClusterHocon.Hocon + settings.RemotingTlsHocon, HoconAddMode.Prepend)
                    .ConfigureLoggers(loggers => ClusterHocon.Logging(loggers, settings.Verbose))
                    .WithRemoting(settings.Host, settings.Port, settings.PublicHost)
                    .WithClustering(ClusterHocon.Clustering(ClusterHocon.GpuRole, seed))
                    .WithShardRegionProxy<TrialShardRegion>(ClusterHocon.TrialsTypeName, ClusterHocon.CoordinatorRole, new TrialMessageExtractor())
                    // Not finding the coordinator while joining is normal; never finding it is the join timeout's one line.
                    .WithSingletonProxy<GridCoordinatorSingleton>(ClusterHocon.CoordinatorSingletonName,
                        new ClusterSingletonOptions { Role = ClusterHocon.CoordinatorRole, LogSingletonIdentificationFailure = false })
                    .WithActors((system, registry) =>
                    {
                        var coordinator = registry.Get<GridCoordinatorSingleton>();
                        var trials = registry.Get<TrialShardRegion>();
                        var index = 0;
                        foreach (var device in settings.Devices)
                            for (var slot = 0; slot < settings.SlotsPerDevice; slot++, index++)
                            {
                                var id = $"w{index}";
                                var workerSlot = new TrialWorker.Slot(id, settings.NodeName, device, settings.Facts);
                                system.ActorOf(TrialWorker.Props(workerSlot, coordinator, trials, executor, settings.ResendInterval), "worker-" + index);
                            }
                    });
            });
        }).Build();
    }

    /// <summary>
    /// Runs the node until <paramref name="stop"/>: joins, works, and rejoins with backoff whenever the coordinator is
    /// lost. The first join must succeed within the join timeout, else the coordinator is taken to be unreachable.
    /// </summary>
    /// <param name="log">The node's own lines; Akka and the host log there too, through <see cref="AkkaLog.For"/>.</param>
    public static async Task RunAsync(NodeSettings settings, ITrialExecutor executor, Serilog.ILogger log, CancellationToken stop)
    {
        using var akkaLog = AkkaLog.For(log);
        var backoff = TimeSpan.FromSeconds(1);
        var everJoined = false;
        ActorSystem? current = null;   // the health endpoints follow the node's actor system across rejoins
        await using var health = settings.Health is { } endpoint
            ? await ClusterHealth.StartAsync(endpoint, () => current, akkaLog, stop)
            : null;
        if (settings.Health is { } shown) log.Information("Health: {Url} (and {Alive})", shown.ReadyUrl, ClusterHealth.AlivePath);
        while (!stop.IsCancellationRequested)
        {
            using var host = Build(settings, executor, akkaLog);
            await host.StartAsync(stop);
            var system = current = host.Services.GetRequiredService<ActorSystem>();
            var join = await WaitUntilUp(system, settings.JoinTimeout, stop);
            var coordinatorLeft = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (join == JoinResult.Up)
            {
                log.Information("Node {Node} joined the cluster at {Host}:{Port} with {Workers} workers on {Devices}",
                    settings.NodeName, settings.CoordinatorHost, settings.CoordinatorPort, settings.Devices.Count * settings.SlotsPerDevice,
                    string.Join(",", settings.Devices));
                everJoined = true;
                backoff = TimeSpan.FromSeconds(1);
                system.ActorOf(Props.Create(() => new CoordinatorDepartureWatch(coordinatorLeft)), "coordinator-departure-watch");
                await Task.WhenAny(system.WhenTerminated, Task.Delay(Timeout.Infinite, stop));
            }
            await host.StopAsync(CancellationToken.None);
            if (stop.IsCancellationRequested) break;
            // Only silence from the start means the coordinator is unreachable; a node downed while joining (the
            // cluster was still removing crashed members) or after working simply tries again.
            if (join == JoinResult.TimedOut && !everJoined)
                throw new UserInputException(
                    $"cannot reach the coordinator at {settings.CoordinatorHost}:{settings.CoordinatorPort} (no answer within {settings.JoinTimeout.TotalSeconds:0} s)");
            // One line per attempt. A coordinator that left on purpose (its grid is done, or it was stopped) is no fault.
            if (coordinatorLeft.Task.IsCompleted)
                log.Information("The coordinator at {Host}:{Port} left the cluster (its grid is done, or it was stopped); rejoining in {Backoff:0} s",
                    settings.CoordinatorHost, settings.CoordinatorPort, backoff.TotalSeconds);
            else
                log.Warning(join switch
                    {
                        JoinResult.Up => "Lost the coordinator at {Host}:{Port}; rejoining in {Backoff:0} s",
                        JoinResult.TimedOut => "No answer from the coordinator at {Host}:{Port}; trying again in {Backoff:0} s",
                        _ => "Not admitted to the cluster at {Host}:{Port}; trying again in {Backoff:0} s",
                    },
                    settings.CoordinatorHost, settings.CoordinatorPort, backoff.TotalSeconds);
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

    /// <summary>Completes <c>left</c> when the coordinator leaves the cluster on purpose (Leaving, Exiting) — seen before
    /// this node's actor system stops, since a member's last view of a cluster it has left no longer has the coordinator.</summary>
    sealed class CoordinatorDepartureWatch : ReceiveActor
    {
        public CoordinatorDepartureWatch(TaskCompletionSource left)
        {
            Receive<ClusterEvent.MemberLeft>(m => { if (m.Member.HasRole(ClusterHocon.CoordinatorRole)) left.TrySetResult(); });
            Receive<ClusterEvent.MemberExited>(m => { if (m.Member.HasRole(ClusterHocon.CoordinatorRole)) left.TrySetResult(); });
        }

        protected override void PreStart() =>
            Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
                typeof(ClusterEvent.MemberLeft), typeof(ClusterEvent.MemberExited));

        protected override void PostStop() => Cluster.Get(Context.System).Unsubscribe(Self);
    }
}
