using static TorchSharp.torch;

namespace SamCluster.Training.Optimization;

/// <summary>Tensors of one dtype and device re-homed as views into one contiguous buffer, so that an update of all of them
/// is one kernel instead of one or more per tensor. A training step of a small-image ResNet is launch-bound on a GPU: with
/// 62 (ResNet-18) or 110 (ResNet-34) parameter tensors, per-tensor optimizer loops were more kernels than the forward and
/// backward passes together. Each tensor keeps its identity (handle, module registration, optimizer state key); only its
/// storage moves (Tensor.set_), so modules, state_dict() and in-place checkpoint loads see the same tensors as before.
/// Rebind only after the model is on its device: Module.to() would give the tensors new storage again.</summary>
public sealed class FlatBuffer : IDisposable
{
    private readonly (long Offset, long Length, long[] Shape)[] _slices;

    /// <summary>The buffer all the tensors now live in, in their order.</summary>
    public Tensor Values { get; }

    public int Count => _slices.Length;

    private FlatBuffer(Tensor values, (long, long, long[])[] slices)
    {
        Values = values;
        _slices = slices;
    }

    /// <summary>Copies the tensors into one new buffer and makes each a view of its slice. All must share dtype and device.</summary>
    public static FlatBuffer Rebind(IReadOnlyList<Tensor> tensors)
    {
        if (tensors.Count == 0) throw new ArgumentException("nothing to flatten", nameof(tensors));
        var (dtype, device) = (tensors[0].dtype, tensors[0].device);
        if (tensors.FirstOrDefault(t => t.dtype != dtype || t.device.ToString() != device.ToString()) is { } odd)
            throw new ArgumentException($"tensors of one buffer must share dtype and device: {dtype} on {device}, but also {odd.dtype} on {odd.device}");
        var layout = new (long, long, long[])[tensors.Count];
        long total = 0;
        for (int i = 0; i < tensors.Count; i++)
        {
            layout[i] = (total, tensors[i].numel(), tensors[i].shape);
            total += tensors[i].numel();
        }
        var buffer = new FlatBuffer(empty(total, dtype, device).DetachFromDisposeScope(), layout);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        for (int i = 0; i < tensors.Count; i++)
        {
            var slice = buffer.Slice(i);
            slice.copy_(tensors[i]);
            tensors[i].set_(slice);
        }
        return buffer;
    }

    /// <summary>A new buffer of zeros with this one's layout (gradients, momentum, SAM's perturbation).</summary>
    public FlatBuffer ZerosLike() => new(zeros_like(Values).DetachFromDisposeScope(), _slices);

    /// <summary>Tensor <paramref name="index"/>'s slice of <see cref="Values"/>, in its shape (a new view; the caller owns it).
    /// The narrowed tensor in between is a using local: TorchSharp keeps no .NET reference to a tensor while libtorch
    /// reads it, so a temporary that nothing holds (outside a DisposeScope, as when FlatParameters is built) can be
    /// finalized by a collection on another thread in the middle of view(), which then reads freed memory (a segfault
    /// in libtorch's alias_with_sizes_and_strides).</summary>
    public Tensor Slice(int index)
    {
        var (offset, length, shape) = _slices[index];
        using var part = Values.narrow(0, offset, length);
        var view = part.view(shape);
        GC.KeepAlive(this);   // Values, read by narrow
        return view;
    }

    public void Dispose() => Values.Dispose();
}
