using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Serialization;
using Akka.TestKit.Xunit2;
using SamCluster.Coordinator.Serialization;
using SamCluster.Messages;
using Xunit;
using static SamCluster.Tests.Cluster.ClusterFixtures;

namespace SamCluster.Tests.Cluster;

/// <summary>Every message that crosses processes or is journaled goes through our serializer and comes back equal;
/// the type to build comes from our manifest table only.</summary>
public sealed class ClusterMessageSerializerTests() : TestKit(ClusterMessageSerializer.Hocon + "\n" + Hocon)
{
    static readonly TrialSpec Spec = Trial("sam", 3);

    public static IEnumerable<object[]> Messages() =>
    [
        [new WorkerReady("w0", "gpu7", "cuda:1")],
        [new AssignTrial(Spec, 2)],
        [new TrialStarted(Spec.Key.Id, 2, "w0", "gpu7", "cuda:1")],
        [new EpochCompleted(Spec.Key.Id, 2, Epoch(4))],
        [new TrialCompleted(Spec.Key.Id, 2, "gpu7", "cuda:1", [Epoch(1), Epoch(2)], TrialSummary.From([Epoch(1), Epoch(2)]))],
        [new TrialFailed(Spec.Key.Id, 1, "gpu7", "cuda:1", "loss became NaN at epoch 3, step 17")],
        [new OutcomeRecorded(Spec.Key.Id, 2)],
        [new GetTrialState(Spec.Key.Id)],
        [new TrialState(Spec.Key.Id, TrialStatus.Failed, 2, 1, "gpu7", "cuda:1", [Epoch(1)], null, "boom")],
    ];

    [Theory]
    [MemberData(nameof(Messages))]
    public void Round_trips_through_the_samcluster_serializer(object message)
    {
        var serializer = Sys.Serialization.FindSerializerFor(message);
        Assert.IsType<ClusterMessageSerializer>(serializer);
        var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, message);
        Assert.True(manifest.Length <= 2, $"manifest '{manifest}' should be a short code, not a type name");
        var back = Sys.Serialization.Deserialize(serializer.ToBinary(message), serializer.Identifier, manifest);
        // Records holding lists compare by reference: compare their JSON instead.
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(message, message.GetType()), System.Text.Json.JsonSerializer.Serialize(back, back.GetType()));
        Assert.Equal(message.GetType(), back.GetType());
    }

    [Fact]
    public void Refuses_a_manifest_outside_its_table()
    {
        var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerForType(typeof(WorkerReady));
        Assert.Throws<SerializationException>(() => serializer.FromBinary("{}"u8.ToArray(), "System.Diagnostics.Process, System"));
    }
}
