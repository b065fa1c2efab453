using Akka.Cluster.Hosting;
using Akka.Cluster.Hosting.SBR;
using Akka.Event;
using Akka.Hosting;
using Akka.Logger.Serilog;
using SamCluster.Coordinator.Run;
using SamCluster.Coordinator.Serialization;

namespace SamCluster.Cli.Hosting;

/// <summary>Akka settings shared by the coordinator and the GPU nodes.</summary>
public static class ClusterHocon
{
    public const string SystemName = "samcluster";
    public const string CoordinatorRole = "coordinator";
    public const string GpuRole = "gpu";
    public const string TrialsTypeName = "trials";
    public const string CoordinatorSingletonName = "grid-coordinator";

    /// <param name="tls">Remoting with TLS (<see cref="RemotingTls"/>): its addresses say akka.ssl.tcp.</param>
    public static string SeedAddress(string host, int port, bool tls = false) =>
        $"{(tls ? RemotingTls.Protocol : "akka.tcp")}://{SystemName}@{host}:{port}";

    /// <summary>
    /// Keep-oldest with the coordinator as the oldest: the coordinator (started first) is the authority. A GPU node cut off
    /// from it downs itself and rejoins later (nothing can be done without the coordinator, and its journal is the truth);
    /// a node the coordinator cannot reach is downed and its trials go back to the queue. down-if-alone is off because a
    /// lone coordinator is still the right side to keep. Failure detection is lenient because training saturates the CPUs
    /// of small machines and delays heartbeats.
    /// </summary>
    public static ClusterOptions Clustering(string role, string seed) => new()
    {
        Roles = [role],
        SeedNodes = [seed],
        SplitBrainResolver = new KeepOldestOption { DownIfAlone = false, Role = CoordinatorRole },
    };

    /// <summary>
    /// Akka logs through Akka.Logger.Serilog into Serilog's process-wide logger (<see cref="AkkaLog.For"/>, set by each
    /// host), which decides what each output keeps (<see cref="AkkaLog"/>). Akka's own level is Information, not
    /// Warning, because our actors log through it and their information lines (a node's "Training …") must reach the
    /// outputs; Akka's own information stays off the consoles there. --verbose: Debug, Akka's whole detail.
    /// </summary>
    public static void Logging(LoggerConfigBuilder loggers, bool verbose)
    {
        loggers.ClearLoggers();
        loggers.AddSerilogLogging();
        loggers.LogLevel = verbose ? LogLevel.DebugLevel : LogLevel.InfoLevel;
    }

    public static string Hocon => ClusterMessageSerializer.Hocon + AkkaStdoutLogger.Hocon + """

        akka {
          stdout-loglevel = WARNING
          actor.serialize-messages = off
          remote.dot-netty.tcp.maximum-frame-size = 16MiB
          cluster {
            failure-detector {
              acceptable-heartbeat-pause = 10s
              threshold = 12.0
            }
            split-brain-resolver.stable-after = 7s
            run-coordinated-shutdown-when-down = on
            # A node joining while crashed members are still being downed waits as Joining instead of taking part
            # (WeaklyUp) in the split-brain decision with a partial view — seen to down the coordinator under churn.
            allow-weakly-up-members = off
            log-info = off
          }
          coordinated-shutdown.exit-clr = off
          coordinated-shutdown.run-by-clr-shutdown-hook = on
        }
        """;
}
