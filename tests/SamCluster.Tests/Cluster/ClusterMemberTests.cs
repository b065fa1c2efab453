using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.Cluster;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SamCluster.Hosting;
using SamCluster.Hosting.Serialization;
using SamCluster.Messages;
using Xunit;

namespace SamCluster.Tests.Cluster;

/// <summary>The shared part of both roles' wiring (<see cref="ClusterMember.AddClusterMember"/>), as the actor system
/// sees it once started: the typed options and the little HOCON beside them reach the settings they are meant for.</summary>
public sealed class ClusterMemberTests : IAsyncLifetime
{
    IHost? _host;
    ActorSystem System => _host!.Services.GetRequiredService<ActorSystem>();

    public async Task InitializeAsync()
    {
        // A coordinator alone: its own seed, on a port of its own.
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        var member = new ClusterMemberOptions(ClusterMember.CoordinatorRole, "127.0.0.1", port, "127.0.0.1", port, null);
        _host = ClusterMember.BuildHost(Serilog.Core.Logger.None, akka => akka.AddClusterMember(member));
        await _host.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _host!.StopAsync();
        _host.Dispose();
    }

    [Fact]
    public async Task Member_forms_its_cluster_with_its_role_and_is_ready()
    {
        var up = new TaskCompletionSource();
        Akka.Cluster.Cluster.Get(System).RegisterOnMemberUp(() => up.TrySetResult());
        await up.Task.WaitAsync(TimeSpan.FromSeconds(30));

        // The member-up callback can run just before the cluster's read view (SelfMember) has caught up.
        Assert.True(SpinWait.SpinUntil(() => ClusterHealth.IsReady(System), TimeSpan.FromSeconds(5)), "up, but not ready 5 s later");
        Assert.Contains(ClusterMember.CoordinatorRole, Akka.Cluster.Cluster.Get(System).SelfRoles);
        Assert.Equal(ClusterMember.SystemName, System.Name);
    }

    [Fact]
    public void Failure_detection_and_split_brain_policy_are_the_lenient_keep_oldest()
    {
        var config = System.Settings.Config;
        Assert.Equal(TimeSpan.FromSeconds(10), config.GetTimeSpan("akka.cluster.failure-detector.acceptable-heartbeat-pause"));
        Assert.Equal(12.0, config.GetDouble("akka.cluster.failure-detector.threshold"));
        Assert.Equal("keep-oldest", config.GetString("akka.cluster.split-brain-resolver.active-strategy"));
        Assert.False(config.GetBoolean("akka.cluster.split-brain-resolver.keep-oldest.down-if-alone"));
        Assert.Equal(ClusterMember.CoordinatorRole, config.GetString("akka.cluster.split-brain-resolver.keep-oldest.role"));
        Assert.Equal(TimeSpan.FromSeconds(7), config.GetTimeSpan("akka.cluster.split-brain-resolver.stable-after"));
        Assert.False(config.GetBoolean("akka.cluster.allow-weakly-up-members"));
        Assert.True(config.GetBoolean("akka.cluster.run-coordinated-shutdown-when-down"));
    }

    [Fact]
    public void Remoting_takes_large_frames_and_messages_use_the_samcluster_serializer()
    {
        Assert.Equal(16L * 1024 * 1024, System.Settings.Config.GetByteSize("akka.remote.dot-netty.tcp.maximum-frame-size"));
        Assert.IsType<ClusterMessageSerializer>(System.Serialization.FindSerializerForType(typeof(WorkerReady)));
        Assert.False(System.Settings.Config.GetBoolean("akka.remote.dot-netty.tcp.enable-ssl"));
    }
}
