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
    public static bool Applies(Conv2d conv, Tensor input) =>
        input.dim() == 4 && conv.bias is null && conv.groups == 1 && !conv.transposed
        && conv.padding_mode == TorchSharp.PaddingModes.Zeros && conv.padding_type is null && conv.dilation.All(d => d == 1)
        && Geometry.Of(conv, input).CoversInput;

    /// <summary>conv(input) for a convolution <see cref="Applies"/> accepts; the result is laid out channels-last.</summary>
    public static Tensor Forward(Conv2d conv, Tensor input)
    {
        if (!Applies(conv, input)) throw new ArgumentException("this convolution does not cover its whole input");
        var g = Geometry.Of(conv, input);
        long n = input.shape[0], c = input.shape[1], o = conv.out_channels;
        long pixelsIn = g.H * g.W, pixelsOut = g.OutH * g.OutW;

        // Entry (output pixel, input pixel) of the tap table holds the tap joining them. The taps are gathered from the
        // weight as it lies, [O, C, taps]: index_select's backward adds into a tensor of its input's shape, so the
        // weight's gradient arrives in the weight's own (contiguous) layout. Gathered from a tap-major copy instead, the
        // gradient came back permuted, and adding it into .grad (a cache miss per element) took three quarters of a
        // 512-channel layer's backward. The dense map is built transposed — row (output pixel, output channel), column
        // (input pixel, channel) — so that only each output channel's own few taps trade places, and is multiplied as a
        // transposed operand (no copy; its gradient then comes back in this layout).
        // (A view of the weight, which is contiguous; a weight that is not would be copied, its gradient still its own.)
        var gathered = conv.weight!.reshape(o, c, g.KH * g.KW).index_select(2, TapTable(g, input.device));
        var mapTransposed = gathered.view(o, c, pixelsOut, pixelsIn).permute(2, 0, 3, 1).reshape(pixelsOut * o, pixelsIn * c);
        // Pixel-major rows: a view of a channels-last input.
        var output = input.permute(0, 2, 3, 1).reshape(n, pixelsIn * c).mm(mapTransposed.t());
        return output.view(n, g.OutH, g.OutW, o).permute(0, 3, 1, 2);
    }

    private readonly record struct Geometry(long H, long W, long KH, long KW, long SH, long SW, long PH, long PW)
    {
        public static Geometry Of(Conv2d conv, Tensor input) => new(input.shape[2], input.shape[3],
            conv.kernel_size[0], conv.kernel_size[1], conv.stride[0], conv.stride[1], conv.padding![0], conv.padding[1]); // numeric padding: no padding mode is used

        public long OutH => (H + 2 * PH - KH) / SH + 1;
        public long OutW => (W + 2 * PW - KW) / SW + 1;

        /// <summary>Along each axis output pixel i reads input [i·s − p, i·s − p + k); all of them must span [0, size).</summary>
        public bool CoversInput => OutH >= 1 && OutW >= 1
            && (OutH - 1) * SH <= PH && KH - PH >= H
            && (OutW - 1) * SW <= PW && KW - PW >= W;
    }

    private static readonly ConcurrentDictionary<(Geometry, string), Tensor> TapTables = new();

    private static Tensor TapTable(Geometry g, Device device) =>
        TapTables.GetOrAdd((g, device.ToString()), _ =>
        {
            var table = new List<long>();
            for (long i = 0; i < g.OutH; i++)
            for (long j = 0; j < g.OutW; j++)
            for (long u = 0; u < g.H; u++)
            for (long v = 0; v < g.W; v++)
                table.Add((u - i * g.SH + g.PH) * g.KW + (v - j * g.SW + g.PW));
            return tensor(table.ToArray(), device: device).DetachFromDisposeScope();
        });
}
