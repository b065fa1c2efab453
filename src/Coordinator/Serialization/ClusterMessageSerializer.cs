using System.Collections.Frozen;
using System.Runtime.Serialization;
using System.Text.Json;
using Akka.Actor;
using Akka.Serialization;
using SamCluster.Messages;

namespace SamCluster.Coordinator.Serialization;

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
        ["wr"] = typeof(WorkerReady),
        ["at"] = typeof(AssignTrial),
        ["ts"] = typeof(TrialStarted),
        ["ec"] = typeof(EpochCompleted),
        ["tc"] = typeof(TrialCompleted),
        ["tf"] = typeof(TrialFailed),
        ["or"] = typeof(OutcomeRecorded),
        ["gs"] = typeof(GetTrialState),
        ["st"] = typeof(TrialState),
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

    public override object FromBinary(byte[] bytes, string manifest)
    {
        if (!TypeByManifest.TryGetValue(manifest, out var type))
            throw new SerializationException($"unknown SamCluster message manifest '{manifest}'");
        return JsonSerializer.Deserialize(bytes, type, Json)
               ?? throw new SerializationException($"empty SamCluster message for manifest '{manifest}'");
    }

    /// <summary>HOCON that binds every <see cref="IClusterMessage"/> to this serializer.</summary>
    public static string Hocon => $$"""
        akka.actor {
          serializers.samcluster = "{{typeof(ClusterMessageSerializer).AssemblyQualifiedName}}"
          serialization-bindings {
            "{{typeof(IClusterMessage).FullName}}, {{typeof(IClusterMessage).Assembly.GetName().Name}}" = samcluster
          }
          serialization-identifiers {
            "{{typeof(ClusterMessageSerializer).FullName}}, {{typeof(ClusterMessageSerializer).Assembly.GetName().Name}}" = {{SerializerId}}
          }
        }
        """;
}
