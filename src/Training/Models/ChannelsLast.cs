using static TorchSharp.torch;

namespace SamCluster.Training.Models;

/// <summary>The channels-last (NHWC) memory layout for [N,C,H,W] tensors. TorchSharp has no memory_format argument, so
/// the layout is made the way PyTorch itself recognises it: from the strides.</summary>
public static class ChannelsLast
{
    /// <summary>The same values, laid out channels-last: a view when the data already is (always so for C = 1), else one
    /// copy. libtorch's convolution, BatchNorm, pooling and element-wise kernels keep the layout from there on.</summary>
    public static Tensor From(Tensor nchw)
    {
        if (nchw.dim() != 4) throw new ArgumentException($"expected a 4-D [N,C,H,W] tensor, got {nchw.dim()}-D");
        if (IsChannelsLast(nchw)) return nchw;
        var nhwc = nchw.permute(0, 2, 3, 1).contiguous();
        long n = nchw.shape[0], c = nchw.shape[1], h = nchw.shape[2], w = nchw.shape[3];
        // as_strided, not permute back: for C = 1, NHWC data is already "contiguous" and permute would give back
        // NCHW strides. The explicit offset matters: a narrowed tensor that needed no copy does not start at 0.
        return nhwc.as_strided([n, c, h, w], [h * w * c, 1, w * c, c], nhwc.storage_offset());
    }

    /// <summary>True when the strides are exactly channels-last (dense NHWC order).</summary>
    public static bool IsChannelsLast(Tensor t)
    {
        if (t.dim() != 4) return false;
        var stride = t.stride();
        long c = t.shape[1], h = t.shape[2], w = t.shape[3];
        return stride[1] == 1 && stride[3] == c && stride[2] == w * c && stride[0] == h * w * c;
    }
}
