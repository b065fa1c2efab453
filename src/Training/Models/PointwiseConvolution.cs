using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SamCluster.Training.Models;

/// <summary>A 1×1 convolution (ResNet's downsample shortcut) computed as what it is: the input sampled at the stride,
/// times the weight as a [C, O] matrix. On CPU this replaces oneDNN's kernel, which on channels-last input gave wrong
/// results on an AVX-512 Zen 4 host (256→512 channels, stride 2: errors of the order of the outputs themselves; see
/// docs/PERFORMANCE.md); the matrix product is exact to float32 rounding and no slower for these shapes.</summary>
public static class PointwiseConvolution
{
    /// <summary>True for a plain 1×1 convolution: no bias, padding, groups or dilation.</summary>
    public static bool Applies(Conv2d conv, Tensor input) =>
        input.dim() == 4 && conv.bias is null && conv.groups == 1 && !conv.transposed
        && conv.kernel_size.All(k => k == 1) && conv.padding is { } padding && padding.All(p => p == 0) && conv.padding_type is null
        && conv.dilation.All(d => d == 1);

    /// <summary>conv(input) for a convolution <see cref="Applies"/> accepts; the result is laid out channels-last.</summary>
    public static Tensor Forward(Conv2d conv, Tensor input)
    {
        if (!Applies(conv, input)) throw new ArgumentException("not a plain 1x1 convolution");
        long n = input.shape[0], c = input.shape[1], o = conv.out_channels;
        var sampled = input.slice(2, 0, input.shape[2], conv.stride[0]).slice(3, 0, input.shape[3], conv.stride[1]);
        long h = sampled.shape[2], w = sampled.shape[3];
        var rows = sampled.permute(0, 2, 3, 1).reshape(n * h * w, c);
        var output = rows.mm(conv.weight!.view(o, c).t());
        return output.view(n, h, w, o).permute(0, 3, 1, 2);
    }
}
