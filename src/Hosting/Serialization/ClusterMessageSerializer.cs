using System.Collections.Frozen;
using System.Runtime.Serialization;
using System.Text.Json;
using Akka.Actor;
using Akka.Hosting;
using Akka.Serialization;
using SamCluster.Messages;

namespace SamCluster.Hosting.Serialization;

/// <summary>
/// Serializes SamCluster's own messages and journal events as JSON under short fixed manifests. The type to construct is
/// looked up in this table, never taken from the wire, so a peer cannot make us instantiate arbitrary types.
/// A manifest, once used in a journal, must never change meaning (journals outlive builds).
/// </summary>
public sealed class ClusterMessageSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    public const int SerializerId = 4711;

    static readonly FrozenDictionary<string, Type> TypeByManifest = new Dictionary<string, Type>
    {
        // worker ↔ coordinator
        ["wr"] = typeof(WorkerReady),
        ["at2"] = typeof(AssignTrial),
        ["rl"] = typeof(RenewLease),
        ["as"] = typeof(AttemptSuperseded),
        // commands to a trial entity, and its replies
        ["sa"] = typeof(StartAttempt),
        ["ra"] = typeof(ReleaseAttempt),
        ["gs"] = typeof(GetTrialState),
        ["acc"] = typeof(AcceptAttempt),
        ["rej"] = typeof(RejectAttempt),
        ["rr"] = typeof(ReportResume),
        ["re"] = typeof(ReportEpoch),
        ["rc"] = typeof(ReportCompleted),
        ["rf"] = typeof(ReportFailed),
        ["ack"] = typeof(ReportAck),
        ["srf"] = typeof(StartRefused),
        ["st2"] = typeof(TrialState),
        // journaled trial events
        ["e-st"] = typeof(AttemptStarted),
        ["e-ac"] = typeof(AttemptAccepted),
        ["e-rs"] = typeof(AttemptResumed),
        ["e-ep"] = typeof(EpochRecorded),
        ["e-ck"] = typeof(CheckpointRecorded),
        ["e-co"] = typeof(TrialCompleted),
        ["e-fa"] = typeof(AttemptFailed),
        ["e-re"] = typeof(AttemptReleased),
        // journal records of earlier versions, read back only (these manifests keep their old meaning)
        ["ts"] = typeof(LegacyTrialStarted),
        ["ec"] = typeof(LegacyEpochCompleted),
        ["tc"] = typeof(LegacyTrialCompleted),
        ["tf"] = typeof(LegacyTrialFailed),
    }.ToFrozenDictionary();

    static readonly FrozenDictionary<Type, string> ManifestByType = TypeByManifest.ToFrozenDictionary(kv => kv.Value, kv => kv.Key);

    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.General);

    public override int Identifier => SerializerId;

    public override string Manifest(object o) =>
        ManifestByType.TryGetValue(o.GetType(), out var manifest)
            ? manifest
            : throw new ArgumentException($"{o.GetType()} is not a SamCluster cluster message");

    public override byte[] ToBinary(object obj)
    {
        Manifest(obj); // refuse types outside the table
        return JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType(), Json);
    }

    public override object FromBinary(byte[] bytes, string manifest) => Decode(bytes, manifest);

    /// <summary>The message under <paramref name="manifest"/>; throws SerializationException or JsonException for
    /// anything else. Static, so a journal can be checked before any actor system exists.</summary>
    public static object Decode(byte[] bytes, string manifest)
    {
        if (!TypeByManifest.TryGetValue(manifest, out var type))
            throw new SerializationException($"unknown SamCluster message manifest '{manifest}'");
        return JsonSerializer.Deserialize(bytes, type, Json)
               ?? throw new SerializationException($"empty SamCluster message for manifest '{manifest}'");
    }

    /// <summary>The name it is registered under (<see cref="ClusterMessageSerializerRegistration"/>).</summary>
    public const string Name = "samcluster";
}

/// <summary>The one registration of <see cref="ClusterMessageSerializer"/>: every <see cref="IClusterMessage"/> goes through it.</summary>
public static class ClusterMessageSerializerRegistration
{
    public static AkkaConfigurationBuilder WithClusterMessageSerializer(this AkkaConfigurationBuilder akka) =>
        akka.WithCustomSerializer(ClusterMessageSerializer.Name, [typeof(IClusterMessage)], system => new ClusterMessageSerializer(system));
}
