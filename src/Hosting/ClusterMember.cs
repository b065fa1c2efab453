using Akka.Cluster.Hosting;
using Akka.Cluster.Hosting.SBR;
using Akka.Hosting;
using Akka.Logger.Serilog;
using Akka.Remote.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SamCluster.Hosting.Logging;
using SamCluster.Hosting.Serialization;
using Serilog.Extensions.Logging;

namespace SamCluster.Hosting;

/// <summary>How one process takes part in the cluster: its role, the seed it joins (the coordinator; a coordinator is its
/// own seed), where its remoting listens and is reached, and TLS.</summary>
/// <param name="Tls">Remoting over TLS (<see cref="RemotingTls"/>); null: plain TCP.</param>
/// <param name="Verbose">Akka's whole detail (Debug) into the logs.</param>
public sealed record ClusterMemberOptions(
    string Role,
    string SeedHost,
    int SeedPort,
    string Host,
    int Port,
    string? PublicHost,
    RemotingTls? Tls = null,
    bool Verbose = false)
{
    public string SeedAddress => ClusterMember.SeedAddress(SeedHost, SeedPort, Tls is not null);
}

/// <summary>
/// The part of the Akka wiring every process of a SamCluster cluster shares: the names they agree on, membership and
/// split-brain policy, remoting (with TLS), the message serializer, and Akka's log on its way into Serilog. Each role
/// adds its own actors on top (AddCoordinatorRole, AddGpuNodeRole).
/// </summary>
public static class ClusterMember
{
    public const string SystemName = "samcluster";
    public const string CoordinatorRole = "coordinator";
    public const string GpuRole = "gpu";
    public const string TrialsTypeName = "trials";
    public const string CoordinatorSingletonName = "grid-coordinator";

    /// <param name="tls">Remoting with TLS: its addresses say akka.ssl.tcp.</param>
    public static string SeedAddress(string host, int port, bool tls = false) =>
        $"{(tls ? RemotingTls.Protocol : "akka.tcp")}://{SystemName}@{host}:{port}";

    /// <summary>
    /// A host whose actor system is a cluster member configured by <paramref name="configure"/>. Akka and the .NET host log
    /// into <paramref name="akkaLog"/> (<see cref="AkkaLog.For"/>): Akka.Logger.Serilog writes to Serilog's process-wide
    /// logger, so it is pointed there.
    /// </summary>
    public static IHost BuildHost(Serilog.ILogger akkaLog, Action<AkkaConfigurationBuilder> configure) =>
        new HostBuilder().ConfigureServices(services =>
        {
            Serilog.Log.Logger = akkaLog;
            services.AddSingleton<ILoggerFactory>(new SerilogLoggerFactory(akkaLog));
            services.AddSingleton<IHostLifetime, CommandLifetime>();
            services.AddAkka(SystemName, (akka, _) => configure(akka));
        }).Build();

    /// <summary>Membership, remoting, serialization and logging, as every SamCluster process has them.</summary>
    public static AkkaConfigurationBuilder AddClusterMember(this AkkaConfigurationBuilder akka, ClusterMemberOptions member) =>
        akka.AddHocon(BehaviourHocon, HoconAddMode.Prepend)
            .WithClusterMessageSerializer()
            .ConfigureLoggers(loggers => Logging(loggers, member.Verbose))
            .WithRemoting(Remoting(member))
            .WithClustering(Clustering(member));

    /// <summary>Where remoting listens and is reached; frames up to 16 MiB (a trial's spec with long epoch lists).</summary>
    public static RemoteOptions Remoting(ClusterMemberOptions member)
    {
        var remote = new RemoteOptions
        {
            HostName = member.Host,
            Port = member.Port,
            PublicHostName = member.PublicHost,
            MaxFrameSize = 16 * 1024 * 1024,
        };
        member.Tls?.Apply(remote);
        return remote;
    }

    /// <summary>
    /// Keep-oldest with the coordinator as the oldest: the coordinator (started first) is the authority. A GPU node cut off
    /// from it downs itself and rejoins later (nothing can be done without the coordinator, and its journal is the truth);
    /// a node the coordinator cannot reach is downed and its trials go back to the queue. down-if-alone is off because a
    /// lone coordinator is still the right side to keep. Failure detection is lenient because training saturates the CPUs
    /// of small machines and delays heartbeats.
    /// </summary>
    public static ClusterOptions Clustering(ClusterMemberOptions member) => new()
    {
        Roles = [member.Role],
        SeedNodes = [member.SeedAddress],
        SplitBrainResolver = new KeepOldestOption { DownIfAlone = false, Role = CoordinatorRole },
        FailureDetector = new PhiAccrualFailureDetectorOptions { AcceptableHeartbeatPause = TimeSpan.FromSeconds(10), Threshold = 12.0 },
        LogInfo = false,
    };

    /// <summary>
    /// Akka logs through Akka.Logger.Serilog into Serilog's process-wide logger (<see cref="AkkaLog.For"/>, set by
    /// <see cref="BuildHost"/>), which decides what each output keeps (<see cref="AkkaLog"/>). Akka's own level is
    /// Information, not Warning, because our actors log through it and their information lines (a node's "Training …")
    /// must reach the outputs; Akka's own information stays off the consoles there. --verbose: Debug, Akka's whole detail.
    /// </summary>
    static void Logging(LoggerConfigBuilder loggers, bool verbose)
    {
        loggers.ClearLoggers();
        loggers.AddSerilogLogging();
        loggers.LogLevel = verbose ? Akka.Event.LogLevel.DebugLevel : Akka.Event.LogLevel.InfoLevel;
    }

    /// <summary>The settings Akka.Hosting has no typed option for.</summary>
    static string BehaviourHocon => AkkaStdoutLogger.Hocon + """

        akka {
          stdout-loglevel = WARNING
          # Akka's timer wheel wakes every tick (default 10 ms): a third of an idle process's CPU. Our timers are
          # 1 s and longer (heartbeats, leases, progress), so 50 ms is precise enough, and a waiting node or an idle
          # coordinator costs about 1 % of a core instead of 3 %.
          scheduler.tick-duration = 50ms
          actor.serialize-messages = off
          cluster {
            split-brain-resolver.stable-after = 7s
            run-coordinated-shutdown-when-down = on
            # A node joining while crashed members are still being downed waits as Joining instead of taking part
            # (WeaklyUp) in the split-brain decision with a partial view — seen to down the coordinator under churn.
            allow-weakly-up-members = off
            # A node waiting for a coordinator asks its seed address this often (default 5 s), so a coordinator
            # started later gets every waiting node within a few seconds.
            seed-node-timeout = 2s
          }
          # After a refused connection (no coordinator listening yet) remoting drops messages to that address for this
          # long (default 5 s); short, so the next join request after a coordinator comes up goes through.
          remote.retry-gate-closed-for = 1s
          coordinated-shutdown.exit-clr = off
          coordinated-shutdown.run-by-clr-shutdown-hook = on
        }
        """;
}
