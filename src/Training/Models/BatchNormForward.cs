using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SamCluster.Training.Models;

/// <summary>BatchNorm2d's forward exactly as TorchSharp's BatchNorm.forward computes it, but counting the batch with
/// a Scalar held for the call: TorchSharp's own forward adds a temporary 1 to num_batches_tracked, which a garbage
/// collection on another thread can free while libtorch reads it (see <see cref="KeptScalars"/>).</summary>
public static class BatchNormForward
{
    public static Tensor Apply(BatchNorm2d bn, Tensor input)
    {
        if (input.ndim != 4) throw new ArgumentException($"expected 4D input, but got {input.ndim}D input.");
        var averagingFactor = bn.momentum ?? 0.0;
        if (bn.training && bn.track_running_stats && bn.num_batches_tracked is { } batches)
        {
            batches.AddInPlace(1);
            averagingFactor = bn.momentum ?? 1.0 / batches.item<long>();
        }
        var batchStatistics = bn.training || (bn.running_mean is null && bn.running_var is null);
        var useRunning = !bn.training || bn.track_running_stats;
        return nn.functional.batch_norm(input, useRunning ? bn.running_mean : null, useRunning ? bn.running_var : null,
            bn.weight, bn.bias, batchStatistics, averagingFactor, bn.eps);
    }
}
