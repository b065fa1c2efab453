using Akka.Actor;
using Akka.Hosting;
using Akka.Serialization;
using SamCluster.Messages;

namespace SamCluster.Hosting.Serialization;

/// <summary>Akka's serializer for SamCluster's own messages and journal events: <see cref="WireFormat"/>'s JSON under
/// its fixed manifests (no type name is ever taken from the wire).</summary>
public sealed class ClusterMessageSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    public const int SerializerId = WireFormat.SerializerId;

    public override int Identifier => SerializerId;

    public override string Manifest(object o) => WireFormat.Manifest(o);

    public override byte[] ToBinary(object obj) => WireFormat.Encode(obj);

    public override object FromBinary(byte[] bytes, string manifest) => WireFormat.Decode(bytes, manifest);

    /// <summary>The name it is registered under (<see cref="ClusterMessageSerializerRegistration"/>).</summary>
    public const string Name = "samcluster";
}

/// <summary>The one registration of <see cref="ClusterMessageSerializer"/>: every <see cref="IClusterMessage"/> goes through it.</summary>
public static class ClusterMessageSerializerRegistration
{
    public static AkkaConfigurationBuilder WithClusterMessageSerializer(this AkkaConfigurationBuilder akka) =>
        akka.WithCustomSerializer(ClusterMessageSerializer.Name, [typeof(IClusterMessage)], system => new ClusterMessageSerializer(system));
}
