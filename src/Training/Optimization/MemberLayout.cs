using static TorchSharp.torch;

namespace SamCluster.Training.Optimization;

/// <summary>Where each member of a pack lies in the packed model's flat buffers (<see cref="FlatParameters"/>): parameter
/// i's K·nᵢ elements hold the members one after another, so every member is T runs of the buffer (T parameter tensors).
/// What a solo step computes over the whole buffer — SAM's gradient norm, the learning rate — a packed step computes per
/// member with these two operations, in a handful of kernels whatever T is.</summary>
public sealed class MemberLayout : IDisposable
{
    private readonly Tensor _elementMember;   // int32 [N]: the member of every element

    public int Members { get; }

    public MemberLayout(FlatParameters flat, int members)
    {
        if (members < 1) throw new ArgumentOutOfRangeException(nameof(members), members, "a pack has at least one member");
        Members = members;
        var device = flat.Values.Values.device;
        using var scope = NewDisposeScope();
        var owners = new List<Tensor>();
        foreach (var parameter in flat.Parameters)
        {
            var length = parameter.numel();
            if (length % members != 0)
                throw new ArgumentException($"a parameter of {length} elements does not split into {members} members");
            var run = length / members;
            owners.Add(arange(members, ScalarType.Int32, device).view(members, 1).expand(members, run).reshape(-1));
        }
        _elementMember = cat(owners, 0).DetachFromDisposeScope();
    }

    /// <summary>Each member's sum of <paramref name="values"/> (a flat buffer's [N]): [K], one kernel (a weighted
    /// bincount). A member's NaN or infinity stays in its own sum: a dropped member must not spoil the others' norms
    /// (prefix sums would carry it into every later member).</summary>
    public Tensor SumPerMember(Tensor values)
    {
        using var scope = NewDisposeScope();
        return _elementMember.bincount(values, Members).to(values.dtype).MoveToOuterDisposeScope();
    }

    /// <summary>A per-member value [K] spread over the buffer's elements: [N].</summary>
    public Tensor Expand(Tensor perMember) => perMember.index_select(0, _elementMember);

    public void Dispose()
    {
        _elementMember.Dispose();
    }
}
