using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SamCluster.Training.Optimization;

/// <summary>Keeps a model's BatchNorm running statistics as they were before a forward pass.
/// SAM's second forward must not move them. TorchSharp's BatchNorm treats momentum 0 as "cumulative average" (not
/// "frozen"), so the PyTorch trick of zeroing momentum is wrong here; copying the few buffers aside and back is exact
/// and cheap (ResNet-18: ~9.6k floats).</summary>
public sealed class BatchNormStatsGuard : IDisposable
{
    private readonly (Tensor Live, Tensor Saved)[] buffers;

    public BatchNormStatsGuard(nn.Module model)
    {
        var live = new List<Tensor>();
        foreach (var module in model.modules())
        {
            if (module is not BatchNorm bn) continue;
            foreach (var buffer in new[] { bn.running_mean, bn.running_var, bn.num_batches_tracked })
                if (buffer is not null) live.Add(buffer);
        }
        buffers = live.Select(t => (t, t.detach().clone().DetachFromDisposeScope())).ToArray();
    }

    public void Save()
    {
        using var noGrad = no_grad();
        foreach (var (live, saved) in buffers) saved.copy_(live);
    }

    public void Restore()
    {
        using var noGrad = no_grad();
        foreach (var (live, saved) in buffers) live.copy_(saved);
    }

    public void Dispose()
    {
        foreach (var (_, saved) in buffers) saved.Dispose();
    }
}
