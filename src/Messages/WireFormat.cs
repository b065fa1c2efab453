using System.Collections.Frozen;
using System.Runtime.Serialization;
using System.Text.Json;

namespace SamCluster.Messages;

/// <summary>
/// How SamCluster's messages and journal events are written: JSON under short fixed manifests. The type to construct is
/// looked up in this table, never taken from the wire, so a peer cannot make us instantiate arbitrary types. A manifest,
/// once used in a journal, must never change meaning (journals outlive builds). Akka's serializer
/// (SamCluster.Hosting's ClusterMessageSerializer) and the run store's journal check both go through here.
/// </summary>
public static class WireFormat
{
    /// <summary>The serializer id journals record beside each event (Akka.Persistence.Sql's "identifier" column).</summary>
    public const int SerializerId = 4711;

    static readonly FrozenDictionary<string, Type> TypeByManifest = new Dictionary<string, Type>
    {
        // worker ↔ coordinator
        ["wr"] = typeof(WorkerReady),
        ["at2"] = typeof(AssignTrial),
        ["ap"] = typeof(AssignPack),
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
        // journaled look decisions of a sequential study
        ["e-ld"] = typeof(LookDecided),
        // journal records of earlier versions, read back only (these manifests keep their old meaning)
        ["ts"] = typeof(LegacyTrialStarted),
        ["ec"] = typeof(LegacyEpochCompleted),
        ["tc"] = typeof(LegacyTrialCompleted),
        ["tf"] = typeof(LegacyTrialFailed),
    }.ToFrozenDictionary();

    static readonly FrozenDictionary<Type, string> ManifestByType = TypeByManifest.ToFrozenDictionary(kv => kv.Value, kv => kv.Key);

    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.General);

    /// <summary>The manifest of a message type in the table; anything else is refused.</summary>
    public static string Manifest(object message) =>
        ManifestByType.TryGetValue(message.GetType(), out var manifest)
            ? manifest
            : throw new ArgumentException($"{message.GetType()} is not a SamCluster cluster message");

    public static byte[] Encode(object message)
    {
        Manifest(message); // refuse types outside the table
        return JsonSerializer.SerializeToUtf8Bytes(message, message.GetType(), Json);
    }

    /// <summary>The message under <paramref name="manifest"/>; throws SerializationException or JsonException for
    /// anything else.</summary>
    public static object Decode(byte[] bytes, string manifest)
    {
        if (!TypeByManifest.TryGetValue(manifest, out var type))
            throw new SerializationException($"unknown SamCluster message manifest '{manifest}'");
        return JsonSerializer.Deserialize(bytes, type, Json)
               ?? throw new SerializationException($"empty SamCluster message for manifest '{manifest}'");
    }
}
