using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SamCluster.Training.Optimization;

/// <summary>Keeps a model's BatchNorm running statistics as they were before a forward pass.
/// SAM's second forward must not move them. TorchSharp's BatchNorm treats momentum 0 as "cumulative average" (not
/// "frozen"), so the PyTorch trick of zeroing momentum is wrong here; copying the few buffers aside and back is exact
/// and cheap (ResNet-18: ~9.6k floats). The buffers are re-homed into one flat buffer per dtype (<see cref="FlatBuffer"/>;
/// BatchNorm updates them in place), so saving and restoring is one copy per dtype, not one per buffer (60 in ResNet-18).</summary>
public sealed class BatchNormStatsGuard : IDisposable
{
    private readonly (FlatBuffer Live, Tensor Saved)[] _groups;

    public BatchNormStatsGuard(nn.Module model)
    {
        // The scope holds detach()'s temporaries until clone() has returned (see FlatBuffer.Slice).
        using var scope = NewDisposeScope();
        var live = new List<Tensor>();
        foreach (var module in model.modules())
        {
            if (module is not BatchNorm bn) continue;
            foreach (var buffer in new[] { bn.running_mean, bn.running_var, bn.num_batches_tracked })
                if (buffer is not null) live.Add(buffer);
        }
        // running_mean/var (float) and num_batches_tracked (int64): one buffer each.
        _groups = live.GroupBy(t => t.dtype)
            .Select(g => FlatBuffer.Rebind(g.ToList()))
            .Select(flat => (flat, flat.Values.detach().clone().DetachFromDisposeScope()))
            .ToArray();
    }

    public void Save()
    {
        using var noGrad = no_grad();
        foreach (var (live, saved) in _groups) saved.copy_(live.Values);
    }

    public void Restore()
    {
        using var noGrad = no_grad();
        foreach (var (live, saved) in _groups) live.Values.copy_(saved);
    }

    public void Dispose()
    {
        foreach (var (live, saved) in _groups)
        {
            saved.Dispose();
            live.Dispose();
        }
    }
}
