using static TorchSharp.torch;

namespace SamCluster.Training.Optimization;

/// <summary>Where each member of a pack lies in the packed model's flat buffers (<see cref="FlatParameters"/>): parameter
/// i's K·nᵢ elements hold the members one after another, so every member is T runs of the buffer (T parameter tensors).
/// What a solo step computes over the whole buffer — SAM's gradient norm and radius, the learning rate — a packed step
/// computes per member with these operations, each over the buffer's [K, nᵢ] views: deterministic on every device (a
/// scatter's atomics are not), no temporary the size of the model, and a member's NaN or infinity stays its own (a
/// dropped member must not spoil the others').</summary>
public sealed class MemberLayout
{
    private readonly long[] _runs;            // nᵢ: one member's elements of parameter i

    public int Members { get; }

    public MemberLayout(FlatParameters flat, int members)
    {
        if (members < 1) throw new ArgumentOutOfRangeException(nameof(members), members, "a pack has at least one member");
        Members = members;
        var runs = new List<long>();
        foreach (var parameter in flat.Parameters)
        {
            var length = parameter.numel();
            if (length % members != 0)
                throw new ArgumentException($"a parameter of {length} elements does not split into {members} members");
            var run = length / members;
            runs.Add(run);
        }
        _runs = runs.ToArray();
    }

    /// <summary>Each member's Euclidean norm of <paramref name="values"/> (a flat buffer's [N]): [K].</summary>
    public Tensor NormPerMember(Tensor values)
    {
        using var scope = NewDisposeScope();
        var perTensor = Runs(values).Select(run => run.square().sum([1])).ToList();
        return stack(perTensor, 0).sum([0]).sqrt_().MoveToOuterDisposeScope();
    }

    /// <summary><paramref name="values"/> (a flat buffer's [N]) times each member's factor (<paramref name="perMember"/>,
    /// [K]), in place.</summary>
    public void MultiplyPerMember(Tensor values, Tensor perMember)
    {
        using var scope = NewDisposeScope();
        var column = perMember.view(Members, 1);
        foreach (var run in Runs(values)) run.mul_(column);
    }

    /// <summary>A per-member value [K] spread over the buffer's elements: [N].</summary>
    public Tensor Expand(Tensor perMember)
    {
        using var scope = NewDisposeScope();
        var column = perMember.view(Members, 1);
        return cat(_runs.Select(run => column.expand(Members, run).reshape(-1)).ToList(), 0).MoveToOuterDisposeScope();
    }

    /// <summary>Parameter i's part of a flat buffer as [K, nᵢ] views, in order.</summary>
    private IEnumerable<Tensor> Runs(Tensor values)
    {
        long offset = 0;
        foreach (var run in _runs)
        {
            yield return values.narrow(0, offset, run * Members).view(Members, run);
            offset += run * Members;
        }
    }
}
