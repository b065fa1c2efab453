using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using Akka.Persistence.Sql.Hosting;
using LinqToDB;
using SamCluster.Coordinator.Actors;
using SamCluster.Coordinator.Lifecycle;
using SamCluster.RunStore;
using SamCluster.Hosting;

namespace SamCluster.Coordinator.Hosting;

/// <summary>What the coordinator role runs: the plan, the run folder (its journal unless the run has a server journal),
/// how often progress is shown, how the report is written, and who watches the run.</summary>
public sealed record CoordinatorRoleOptions(
    GridPlan Plan,
    RunFolder Folder,
    TimeSpan ProgressInterval,
    Func<IReadOnlyList<BoardEntry>, string> WriteReport,
    IReadOnlyList<IRunObserver> Observers);

/// <summary>Akka.Hosting registry key of the report writer.</summary>
public sealed class ReportWriterActor;

/// <summary>
/// The coordinator role's Akka wiring: the trial entities (sharded on the coordinator role, journaled in the run folder's
/// SQLite database or in PostgreSQL), the grid coordinator singleton (with its proxy) and the report writer.
/// </summary>
public static class CoordinatorRole
{
    /// <param name="completion">Where the grid coordinator reports the run's end (or a failure that ends it).</param>
    public static AkkaConfigurationBuilder AddCoordinatorRole(this AkkaConfigurationBuilder akka, CoordinatorRoleOptions role,
        RunCompletion completion) =>
        akka.WithTrialJournal(role.Folder)
            .WithActors((system, registry) =>
                registry.Register<ReportWriterActor>(system.ActorOf(ReportWriter.Props(role.WriteReport), "report-writer")))
            .WithShardRegion<TrialShardRegion>(ClusterMember.TrialsTypeName,
                (_, registry) => trialId => TrialEntity.Props(trialId, registry.Get<GridCoordinatorSingleton>()),
                new TrialMessageExtractor(),
                new ShardOptions { Role = ClusterMember.CoordinatorRole, RememberEntities = false, StateStoreMode = StateStoreMode.DData })
            .WithSingleton<GridCoordinatorSingleton>(ClusterMember.CoordinatorSingletonName,
                (_, registry, _) => GridCoordinator.Props(role.Plan, registry.Get<TrialShardRegion>(),
                    registry.Get<ReportWriterActor>(), completion, role.Observers, role.ProgressInterval),
                new ClusterSingletonOptions { Role = ClusterMember.CoordinatorRole, LogSingletonIdentificationFailure = false },
                createProxyToo: true);

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
