using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Serialization;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SamCluster.Hosting.Serialization;
using SamCluster.Messages;
using Xunit;
using static SamCluster.Tests.Cluster.ClusterFixtures;

namespace SamCluster.Tests.Cluster;

/// <summary>Every message that crosses processes or is journaled goes through our serializer and comes back equal;
/// the type to build comes from our manifest table only. The actor system is built the way the processes build theirs
/// (Akka.Hosting, with the one registration the cluster members use).</summary>
public sealed class ClusterMessageSerializerTests : IDisposable
{
    readonly IHost _host;
    ActorSystem Sys => _host.Services.GetRequiredService<ActorSystem>();

    public ClusterMessageSerializerTests()
    {
        _host = new HostBuilder().ConfigureServices(services =>
            services.AddAkka("serializer-test", akka => akka.AddHocon(Hocon, HoconAddMode.Prepend).WithClusterMessageSerializer())).Build();
        _host.Start();
    }

    public void Dispose()
    {
        _host.StopAsync().GetAwaiter().GetResult();
        _host.Dispose();
    }

    static readonly TrialSpec Spec = Trial("sam", 3);

    static readonly CheckpointRef Checkpoint = new(2, 4, Spec.Key.Id + "/attempt-2-epoch-0004.ckpt", new string('e', 64));

    public static IEnumerable<object[]> Messages() =>
    [
        [new WorkerReady("w0", "gpu7", "cuda:1")],
        [new AssignTrial(Spec, 2, [Checkpoint], 1, "/shared/checkpoints")],
        [new WorkerReady("w0", "gpu7", "cuda:1", null, 5)],
        [new AssignPack([new AssignTrial(Spec, 2, [Checkpoint], 1, "/shared/checkpoints"), new AssignTrial(Trial("sam", 4), 1, [], 1, null)])],
        [new RenewLease(Spec.Key.Id, 2)],
        [new AttemptSuperseded(Spec.Key.Id, 1, "its lease expired")],
        [new StartAttempt(Spec.Key.Id, "w0@gpu7/cuda:1#123", "gpu7", "cuda:1")],
        [new ReleaseAttempt(Spec.Key.Id, 2, "worker lost")],
        [new GetTrialState(Spec.Key.Id)],
        [new AcceptAttempt(Spec.Key.Id, 2, 1)],
        [new RejectAttempt(Spec.Key.Id, 2, 1, "busy")],
        [new ReportResume(Spec.Key.Id, 2, 2, Checkpoint with { Attempt = 1 }, "")],
        [new ReportEpoch(Spec.Key.Id, 2, 3, Epoch(4), Checkpoint)],
        [new ReportCompleted(Spec.Key.Id, 2, 9, TrialSummary.From([Epoch(1), Epoch(2)]), Checkpoint)],
        [new ReportFailed(Spec.Key.Id, 1, 4, "loss became NaN at epoch 3, step 17")],
        [new ReportAck(Spec.Key.Id, 2, 3)],
        [new StartRefused(Spec.Key.Id, "completed")],
        [new AttemptStarted(Spec.Key.Id, 2, "w0", "gpu7", "cuda:1", DateTimeOffset.UnixEpoch)],
        [new AttemptAccepted(Spec.Key.Id, 2)],
        [new AttemptResumed(Spec.Key.Id, 2, Checkpoint, "checkpoint of attempt 3 corrupt")],
        [new EpochRecorded(Spec.Key.Id, 2, Epoch(4))],
        [new CheckpointRecorded(Spec.Key.Id, 2, Checkpoint)],
        [new TrialCompleted(Spec.Key.Id, 2, TrialSummary.From([Epoch(1), Epoch(2)]), Checkpoint)],
        [new AttemptFailed(Spec.Key.Id, 1, "boom")],
        [new AttemptReleased(Spec.Key.Id, 1, "lease expired")],
        [new TrialState(Spec.Key.Id, TrialStatus.Failed,
            [new AttemptRecord(1, "w0", "gpu7", "cuda:1", AttemptPhase.Failed, 3, true, null, [Epoch(1)], Checkpoint with { Attempt = 1 }, "boom")], null, null, 5)],
    ];

    [Theory]
    [MemberData(nameof(Messages))]
    public void Round_trips_through_the_samcluster_serializer(object message)
    {
        var serializer = Sys.Serialization.FindSerializerFor(message);
        Assert.IsType<ClusterMessageSerializer>(serializer);
        var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, message);
        Assert.True(manifest.Length <= 4, $"manifest '{manifest}' should be a short code, not a type name");
        var back = Sys.Serialization.Deserialize(serializer.ToBinary(message), serializer.Identifier, manifest);
        // Records holding lists compare by reference: compare their JSON instead.
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(message, message.GetType()), System.Text.Json.JsonSerializer.Serialize(back, back.GetType()));
        Assert.Equal(message.GetType(), back.GetType());
    }

    [Fact]
    public void Is_registered_under_the_identifier_journals_hold()
    {
        // Journals store the serializer's identifier with every event: it must never change.
        var serializer = Sys.Serialization.FindSerializerForType(typeof(IClusterMessage));
        Assert.IsType<ClusterMessageSerializer>(serializer);
        Assert.Equal(4711, ClusterMessageSerializer.SerializerId);
        Assert.Equal(ClusterMessageSerializer.SerializerId, serializer.Identifier);
    }

    [Fact]
    public void Journal_records_of_the_earlier_format_still_read_back()
    {
        var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerForType(typeof(WorkerReady));
        // As the previous version journaled a finished trial (manifest "tc").
        var json = $$$"""{"TrialId":"{{{Spec.Key.Id}}}","Attempt":2,"Node":"gpu7","Device":"cuda:1","Epochs":[{"Epoch":1,"TrainLoss":0.5,"TrainAcc":85,"TestLoss":0.6,"TestAcc":80,"LearningRate":0.001,"Seconds":1,"ImagesPerSecond":100}],"Summary":{"Epochs":1,"TrainAcc":85,"TestAcc":80,"TrainLoss":0.5,"TestLoss":0.6,"Seconds":1}}""";
        var old = Assert.IsType<LegacyTrialCompleted>(serializer.FromBinary(System.Text.Encoding.UTF8.GetBytes(json), "tc"));
        Assert.Equal((2, "gpu7", 1), (old.Attempt, old.Node, old.Epochs.Count));
    }

    [Fact]
    public void A_worker_ready_of_a_node_before_packs_reads_back_as_one_trial_at_a_time()
    {
        var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerForType(typeof(WorkerReady));
        var json = """{"WorkerId":"w0","Node":"gpu7","Device":"cuda:1"}""";
        var old = Assert.IsType<WorkerReady>(serializer.FromBinary(System.Text.Encoding.UTF8.GetBytes(json), "wr"));
        Assert.Null(old.Pack);
    }

    [Fact]
    public void Refuses_a_manifest_outside_its_table()
    {
        var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerForType(typeof(WorkerReady));
        Assert.Throws<SerializationException>(() => serializer.FromBinary("{}"u8.ToArray(), "System.Diagnostics.Process, System"));
    }
}
