using System.Collections.Concurrent;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SamCluster.Training.Models;

/// <summary>A convolution whose every output pixel sees the whole input map, computed as one matrix product over the
/// kernel taps that meet real pixels. That is ResNet's last stages when 28×28 images go through the ImageNet stem:
/// 3×3, padding-1 convolutions on 2×2 and 1×1 maps. The output and all gradients are the convolution's (the taps that
/// only ever meet padding get gradient 0, as from the convolution); oneDNN instead runs the full kernel over the
/// padding, up to 9× the arithmetic on a 1×1 map, and reorders the weights for every call.</summary>
public static class SmallMapConvolution
{
    /// <summary>True for a plain convolution (no bias, groups, dilation or padding mode other than zeros) that, on this
    /// input, has every output pixel's window cover the whole input map along both axes.</summary>
    public static bool Applies(Conv2d conv, Tensor input)
    {
        if (input.dim() != 4 || conv.bias is not null || conv.groups != 1 || conv.transposed
            || conv.padding_mode != TorchSharp.PaddingModes.Zeros || conv.padding_type is not null
            || conv.dilation.Any(d => d != 1))
            return false;
        return Covers(input.shape[2], conv.kernel_size[0], conv.stride[0], conv.padding[0])
            && Covers(input.shape[3], conv.kernel_size[1], conv.stride[1], conv.padding[1]);
    }

    /// <summary>Along one axis: output pixel i reads input [i·s − p, i·s − p + k); all of them must span [0, size).</summary>
    private static bool Covers(long size, long kernel, long stride, long padding)
    {
        long outputs = (size + 2 * padding - kernel) / stride + 1;
        return outputs >= 1 && (outputs - 1) * stride <= padding && kernel - padding >= size;
    }

    /// <summary>conv(input) for a convolution <see cref="Applies"/> accepts; the result is laid out channels-last.</summary>
    public static Tensor Forward(Conv2d conv, Tensor input)
    {
        if (!Applies(conv, input)) throw new ArgumentException("this convolution does not cover its whole input");
        long n = input.shape[0], c = input.shape[1], h = input.shape[2], w = input.shape[3];
        long kh = conv.kernel_size[0], kw = conv.kernel_size[1], o = conv.out_channels;
        long ho = (h + 2 * conv.padding[0] - kh) / conv.stride[0] + 1, wo = (w + 2 * conv.padding[1] - kw) / conv.stride[1] + 1;

        // Row (output pixel, input pixel) of the tap table holds the tap joining them; the weight viewed tap-major as
        // [taps, C, O] (a view, no copy) then gives every block of the dense map with one gather.
        var taps = TapTable(new(h, w, kh, kw, conv.stride[0], conv.stride[1], conv.padding[0], conv.padding[1]), input.device);
        var blocks = conv.weight!.permute(2, 3, 1, 0).reshape(kh * kw, c, o).index_select(0, taps);
        var map = ho * wo == 1
            ? blocks.view(h * w * c, o)
            : blocks.view(ho * wo, h * w * c, o).permute(1, 0, 2).reshape(h * w * c, ho * wo * o);
        // Pixel-major rows: a view of a channels-last input.
        var output = input.permute(0, 2, 3, 1).reshape(n, h * w * c).mm(map);
        return output.view(n, ho, wo, o).permute(0, 3, 1, 2);
    }

    private readonly record struct Geometry(long H, long W, long KH, long KW, long SH, long SW, long PH, long PW);

    private static readonly ConcurrentDictionary<(Geometry, string), Tensor> TapTables = new();

    private static Tensor TapTable(Geometry g, Device device) =>
        TapTables.GetOrAdd((g, device.ToString()), _ =>
        {
            long ho = (g.H + 2 * g.PH - g.KH) / g.SH + 1, wo = (g.W + 2 * g.PW - g.KW) / g.SW + 1;
            var table = new List<long>();
            for (long i = 0; i < ho; i++)
            for (long j = 0; j < wo; j++)
            for (long u = 0; u < g.H; u++)
            for (long v = 0; v < g.W; v++)
                table.Add((u - i * g.SH + g.PH) * g.KW + (v - j * g.SW + g.PW));
            return tensor(table.ToArray(), device: device).DetachFromDisposeScope();
        });
}
