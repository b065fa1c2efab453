using Akka.Actor;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SamCluster.Coordinator.Actors;
using SamCluster.RunStore;
using SamCluster.Hosting;
using SamCluster.Coordinator.Logging;

namespace SamCluster.Coordinator.Hosting;

/// <summary>
/// The coordinator process's actor system: the cluster's seed node (role "coordinator", <see cref="CoordinatorRole"/>).
/// If the cluster ever downs the coordinator itself (its actor system then terminates), <see cref="RunToCompletionAsync"/>
/// starts a fresh one on the same port over the same journal, exactly as a restart by hand would: nothing finished is lost.
/// </summary>
public sealed class CoordinatorHost : IAsyncDisposable
{
    readonly ClusterMemberOptions _member;
    readonly CoordinatorRoleOptions _role;
    readonly RunLog _log;
    readonly RunCompletion _completion;
    IHost? _host;

    /// <summary>The actor system now running; null while it is being started again (health probes follow it).</summary>
    public ActorSystem? System { get; private set; }

    CoordinatorHost(ClusterMemberOptions member, CoordinatorRoleOptions role, RunLog log, RunCompletion completion) =>
        (_member, _role, _log, _completion) = (member, role, log, completion);

    /// <param name="member">This process as a cluster member: its role must be the coordinator's, and it is its own seed.</param>
    public static async Task<CoordinatorHost> StartAsync(ClusterMemberOptions member, CoordinatorRoleOptions role, RunLog log,
        RunCompletion completion, CancellationToken stop)
    {
        if (member.Role != ClusterMember.CoordinatorRole)
            throw new ArgumentException($"a coordinator's role is '{ClusterMember.CoordinatorRole}', not '{member.Role}'", nameof(member));
        var coordinator = new CoordinatorHost(member, role, log, completion);
        try
        {
            await coordinator.StartSystemAsync(stop);
        }
        catch
        {
            await coordinator.DisposeAsync();
            throw;
        }
        return coordinator;
    }

    /// <summary>Waits until the grid finishes (or a failure ends the run), starting the actor system again whenever the
    /// cluster downs it.</summary>
    public async Task<GridCoordinator.GridFinished> RunToCompletionAsync(CancellationToken stop)
    {
        while (true)
        {
            var system = System ?? throw new InvalidOperationException("the coordinator's actor system is not running");
            var first = await Task.WhenAny(_completion.Task, system.WhenTerminated).WaitAsync(stop);
            if (first == _completion.Task) return await _completion.Task;
            // A stop that also ends the actor system (Akka's own exit hook) comes with `stop` cancelled: give the token a
            // moment, so a stop is not told as a removal (a real removal starts again half a second later, that is all).
            await Task.Delay(TimeSpan.FromMilliseconds(500), stop);
            _log.Main.Warning("The coordinator was removed from the cluster; starting it again from the journal");
            await StopSystemAsync();
            await StartSystemAsync(stop);
        }
    }

    async Task StartSystemAsync(CancellationToken stop)
    {
        _host = ClusterMember.BuildHost(_log.Infrastructure, akka => akka.AddClusterMember(_member).AddCoordinatorRole(_role, _completion));
        await _host.StartAsync(stop);
        System = _host.Services.GetRequiredService<ActorSystem>();
    }

    async Task StopSystemAsync()
    {
        System = null;
        if (_host is not { } host) return;
        _host = null;
        await host.StopAsync(CancellationToken.None);
        host.Dispose();
    }

    public async ValueTask DisposeAsync() => await StopSystemAsync();
}
