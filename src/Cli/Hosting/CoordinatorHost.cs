using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using Akka.Persistence.Sql.Hosting;
using Akka.Remote.Hosting;
using LinqToDB;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SamCluster.Coordinator.Actors;
using SamCluster.Coordinator.Lifecycle;
using SamCluster.Coordinator.Run;
using Serilog.Extensions.Logging;

namespace SamCluster.Cli.Hosting;

/// <summary>How to start a coordinator.</summary>
public sealed record CoordinatorSettings(
    GridPlan Plan,
    RunFolder Folder,
    string Host,
    int Port,
    string? PublicHost,
    TimeSpan ProgressInterval,
    Func<string> WriteReport,
    IReadOnlyList<IRunObserver> Observers,
    string RemotingTlsHocon = "");

/// <summary>Registry key of the grid coordinator singleton (a proxy to it on every node).</summary>
public sealed class GridCoordinatorSingleton;

/// <summary>Registry key of the report aggregator.</summary>
public sealed class ReportAggregatorActor;

/// <summary>
/// The coordinator process: the cluster's seed node (role "coordinator") hosting the trial entities (sharded and
/// journaled in the run folder's SQLite database, or in PostgreSQL), the grid coordinator singleton and the report aggregator.
/// </summary>
public static class CoordinatorHost
{
    public static IHost Build(CoordinatorSettings settings, RunLog log, RunCompletion completion)
    {
        var seed = ClusterHocon.SeedAddress(settings.PublicHost ?? settings.Host, settings.Port, tls: settings.RemotingTlsHocon != "");
        var builder = new HostBuilder().ConfigureServices(services =>
        {
            services.AddSingleton<ILoggerFactory>(new SerilogLoggerFactory(log.Infrastructure as Serilog.ILogger));
            services.AddAkka(ClusterHocon.SystemName, (akka, _) =>
            {
                akka.AddHocon(ClusterHocon.Hocon + settings.RemotingTlsHocon, HoconAddMode.Prepend)
                    .WithTrialJournal(settings.Folder)
                    .ConfigureLoggers(loggers =>
                    {
                        loggers.ClearLoggers();
                        loggers.AddLoggerFactory();
                    })
                    .WithRemoting(settings.Host, settings.Port, settings.PublicHost)
                    .WithClustering(ClusterHocon.Clustering(ClusterHocon.CoordinatorRole, seed))
                    .WithActors((system, registry) =>
                        registry.Register<ReportAggregatorActor>(system.ActorOf(ReportAggregator.Props(settings.WriteReport), "report-aggregator")))
                    .WithShardRegion<TrialShardRegion>(ClusterHocon.TrialsTypeName,
                        (_, registry) => trialId => TrialEntity.Props(trialId, registry.Get<GridCoordinatorSingleton>()),
                        new TrialMessageExtractor(),
                        new ShardOptions { Role = ClusterHocon.CoordinatorRole, RememberEntities = false, StateStoreMode = StateStoreMode.DData })
                    .WithSingleton<GridCoordinatorSingleton>(ClusterHocon.CoordinatorSingletonName,
                        (_, registry, _) => GridCoordinator.Props(settings.Plan, registry.Get<TrialShardRegion>(),
                            registry.Get<ReportAggregatorActor>(), completion, settings.Observers, settings.ProgressInterval),
                        new ClusterSingletonOptions { Role = ClusterHocon.CoordinatorRole, LogSingletonIdentificationFailure = false },
                        createProxyToo: true);
            });
        });
        return builder.Build();
    }

    /// <summary>The trials' journal and snapshots (Akka.Persistence.Sql): in the run folder's SQLite file, or on the
    /// PostgreSQL server the run was given (--journal). Tables are created when missing.</summary>
    static AkkaConfigurationBuilder WithTrialJournal(this AkkaConfigurationBuilder akka, RunFolder folder)
    {
        var (connection, provider) = folder.ServerJournal is { } server
            ? (server.ConnectionString, ProviderName.PostgreSQL15)
            : ($"Data Source={folder.Journal}", ProviderName.SQLiteMS);
        return akka.WithSqlPersistence(
            new SqlJournalOptions(isDefaultPlugin: true) { ConnectionString = connection, ProviderName = provider, AutoInitialize = true },
            new SqlSnapshotOptions(isDefaultPlugin: true) { ConnectionString = connection, ProviderName = provider, AutoInitialize = true });
    }
}
