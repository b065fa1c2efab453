using static TorchSharp.torch;

namespace SamCluster.Training.Data;

/// <summary>Per-channel mean and standard deviation of uint8 images, in 0..1 units.</summary>
public static class ChannelStatistics
{
    /// <summary>Exact population mean/std per channel of uint8 [N,C,H,W] images (Std 1 for a constant channel). A 256-bin histogram per channel
    /// (torch.bincount) keeps it exact and light: no float copy of the whole split (a 1 GB float tensor for Dogs).</summary>
    public static (float[] Mean, float[] Std) Compute(Tensor images)
    {
        if (images.dtype != ScalarType.Byte || images.dim() != 4 || images.shape[0] == 0)
            throw new ArgumentException("channel statistics need non-empty uint8 [N,C,H,W] images");
        var channels = (int)images.shape[1];
        var mean = new float[channels];
        var std = new float[channels];
        for (var c = 0; c < channels; c++)
        {
            using var scope = NewDisposeScope();
            var counts = images.select(1, c).flatten().bincount(null, 256).cpu().data<long>().ToArray();
            (mean[c], std[c]) = FromHistogram(counts);
        }
        return (mean, std);
    }

    static (float Mean, float Std) FromHistogram(long[] counts)
    {
        double n = 0, sum = 0;
        for (var v = 0; v < counts.Length; v++)
        {
            n += counts[v];
            sum += (double)counts[v] * v;
        }
        var mean = sum / n;
        double squares = 0;
        for (var v = 0; v < counts.Length; v++)
            squares += counts[v] * (v - mean) * (v - mean);
        var std = Math.Sqrt(squares / n) / 255.0;
        // A channel with no variation (a blank or synthetic set) would make normalisation divide by zero.
        return ((float)(mean / 255.0), std > 0 ? (float)std : 1f);
    }
}
