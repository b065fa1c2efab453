using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SamCluster.Training.Models;

/// <summary>Moves members in and out of a packed <see cref="ResNet"/>: member m's slice of every packed parameter and
/// buffer is the solo network's tensor of the same name (the packed tensor viewed [K, …], row m). Buffers that are one
/// number for the whole module (BatchNorm's num_batches_tracked) are shared: members of a pack step together.</summary>
public static class ModelPacking
{
    /// <summary>A packed network holding <paramref name="members"/>' current values (each initialized as its solo trial
    /// is, by its own seed), on their device.</summary>
    public static ResNet Pack(IReadOnlyList<ResNet> members, string model, long inputChannels, long classes, string stem)
    {
        if (members.Count == 0) throw new ArgumentException("a pack has at least one member", nameof(members));
        var packed = ModelFactory.Create(model, inputChannels, classes, stem, members.Count);
        try
        {
            packed.to(members[0].parameters().First().device);
            for (int m = 0; m < members.Count; m++) CopyIn(members[m], packed, m);
            return packed;
        }
        catch
        {
            packed.Dispose();
            throw;
        }
    }

    /// <summary>Writes <paramref name="solo"/>'s parameters and buffers into member <paramref name="member"/>'s slices.</summary>
    public static void CopyIn(ResNet solo, ResNet packed, int member)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (var (packedTensor, soloTensor) in Pairs(packed, solo))
            Slice(packedTensor, packed.Members, member, soloTensor).copy_(soloTensor);
    }

    /// <summary>Writes member <paramref name="member"/>'s slices into <paramref name="solo"/> (a checkpoint, the final
    /// weights: what the member's solo trial would hold).</summary>
    public static void CopyOut(ResNet packed, int member, ResNet solo)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (var (packedTensor, soloTensor) in Pairs(packed, solo))
            soloTensor.copy_(Slice(packedTensor, packed.Members, member, soloTensor));
    }

    /// <summary>Writes member <paramref name="member"/>'s slices of the pack into <paramref name="solo"/> (as
    /// <see cref="CopyOut(ResNet, int, ResNet)"/>) and its SGD momentum into <paramref name="soloStates"/>, the solo SGD's
    /// per-parameter states: what the member's solo trial would hold, momentum included. A parameter without packed
    /// momentum (before the pack's first step) is left as it is.</summary>
    /// <param name="packedMomentum">The pack's SGD momentum buffers, in parameter order (null before its first step).</param>
    public static void CopyOut(ResNet packed, int member, ResNet solo, IReadOnlyList<Tensor?> packedMomentum,
        IReadOnlyList<SGD.State> soloStates)
    {
        CopyOut(packed, member, solo);
        var parameters = solo.parameters().ToArray();
        using var noGrad = no_grad();
        for (int i = 0; i < soloStates.Count; i++)
        {
            if (packedMomentum[i] is not { } buffer) continue;
            soloStates[i].momentum_buffer ??= zeros_like(parameters[i]).DetachFromDisposeScope();
            using var scope = NewDisposeScope();
            soloStates[i].momentum_buffer!.copy_(Slice(buffer, packed.Members, member, parameters[i]));
        }
    }

    /// <summary>Member <paramref name="member"/>'s view of a packed tensor laid out member-major.</summary>
    public static Tensor Slice(Tensor packed, int members, int member, Tensor solo)
    {
        if (packed.numel() == solo.numel()) return packed.view(solo.shape);            // shared (or a pack of one)
        if (packed.numel() != members * solo.numel())
            throw new ArgumentException($"a packed tensor of {packed.numel()} elements is not {members} of {solo.numel()}");
        return packed.view(members, -1)[member].view(solo.shape);
    }

    /// <summary>Parameters, then buffers, of the two networks, matched by name (both come from one module tree).</summary>
    private static IEnumerable<(Tensor Packed, Tensor Solo)> Pairs(ResNet packed, ResNet solo)
    {
        var packedTensors = packed.named_parameters().Select(p => (p.name, (Tensor)p.parameter))
            .Concat(packed.named_buffers().Select(b => (b.name, b.buffer))).ToList();
        var soloTensors = solo.named_parameters().Select(p => (p.name, (Tensor)p.parameter))
            .Concat(solo.named_buffers().Select(b => (b.name, b.buffer))).ToList();
        if (packedTensors.Count != soloTensors.Count)
            throw new ArgumentException($"the pack has {packedTensors.Count} tensors, the member {soloTensors.Count}");
        for (int i = 0; i < packedTensors.Count; i++)
        {
            if (packedTensors[i].name != soloTensors[i].name)
                throw new ArgumentException($"the pack's tensor {packedTensors[i].name} meets the member's {soloTensors[i].name}");
            yield return (packedTensors[i].Item2, soloTensors[i].Item2);
        }
    }
}
