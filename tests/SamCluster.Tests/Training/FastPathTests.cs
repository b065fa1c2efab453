using SamCluster.Training;
using SamCluster.Training.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SamCluster.Tests.Training;

/// <summary>The CPU fast paths must compute exactly what the library's convolution computes: channels-last layout,
/// and small maps as a matrix product.</summary>
[Collection(TorchGlobalState.Name)]
public class FastPathTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void ChannelsLastKeepsValuesAndChangesStrides(int channels)
    {
        using var scope = NewDisposeScope();
        var nchw = arange(2 * channels * 4 * 5, ScalarType.Float32).view(2, channels, 4, 5);
        var converted = ChannelsLast.From(nchw);
        Assert.True(ChannelsLast.IsChannelsLast(converted));
        Assert.False(ChannelsLast.IsChannelsLast(nchw));
        Assert.Equal(new long[] { 4 * 5 * channels, 1, 5 * channels, channels }, converted.stride());
        Assert.True(converted.eq(nchw).all().item<bool>());
    }

    [Fact]
    public void ChannelsLastOfANarrowedBatchKeepsItsOffset()
    {
        using var scope = NewDisposeScope();
        // One-channel data needs no copy, so the result is a view that must start where the narrowed batch starts.
        var all = arange(10 * 28 * 28, ScalarType.Float32).view(10, 1, 28, 28);
        var batch = all.narrow(0, 3, 4);
        var converted = ChannelsLast.From(batch);
        Assert.True(converted.eq(batch).all().item<bool>());
        Assert.Equal(3 * 28 * 28, converted[0, 0, 0, 0].item<float>());
    }

    [Fact]
    public void ChannelsLastInputIsReturnedAsIs()
    {
        using var scope = NewDisposeScope();
        var once = ChannelsLast.From(randn(2, 3, 4, 4));
        Assert.Same(once, ChannelsLast.From(once));
    }

    // The geometries ResNet meets at 28×28 through the ImageNet stem: layer3 (2×2 maps), layer4's first conv
    // (stride 2 from 2×2 to 1×1) and layer4 (1×1 maps); plus contiguous inputs.
    [Theory]
    [InlineData(2, 1, true)]
    [InlineData(2, 2, true)]
    [InlineData(1, 1, true)]
    [InlineData(2, 1, false)]
    [InlineData(1, 1, false)]
    public void SmallMapConvolutionEqualsTheConvolution(int size, int stride, bool channelsLast)
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(7);
        using var conv = nn.Conv2d(16, 12, 3, stride: stride, padding: 1, bias: false);
        var x = randn(6, 16, size, size);
        var xFast = x.clone().requires_grad_(true);
        Assert.True(SmallMapConvolution.Applies(conv, xFast));

        var fast = SmallMapConvolution.Forward(conv, channelsLast ? ChannelsLast.From(xFast) : xFast);
        var upstream = randn(fast.shape);
        fast.backward([upstream]);
        var weightGradFast = conv.weight!.grad!.clone();

        // The reference is the library's convolution in float64: its float32 CPU kernels are not a reliable reference
        // (on AVX-512 Zen 4 oneDNN's float32 backward-data on 2×2 maps was seen to return NaN; see docs/PERFORMANCE.md).
        var xLibrary = x.to(ScalarType.Float64).requires_grad_(true);
        var weightLibrary = conv.weight!.detach().to(ScalarType.Float64).requires_grad_(true);
        var library = nn.functional.conv2d(xLibrary, weightLibrary, strides: [stride, stride], padding: [1, 1]);
        library.backward([upstream.to(ScalarType.Float64)]);

        Assert.Equal(library.shape, fast.shape);
        Assert.True(ChannelsLast.IsChannelsLast(fast) || size == 1);
        AssertClose(library, fast);
        AssertClose(xLibrary.grad!, xFast.grad!);
        AssertClose(weightLibrary.grad!, weightGradFast);
        // The taps that only ever meet padding get no gradient, from either path.
        if (size == 1 && stride == 1)
        {
            var centreTaps = weightGradFast.select(2, 1).select(2, 1);
            Assert.Equal(weightGradFast.abs().sum().item<float>(), centreTaps.abs().sum().item<float>(), 3);
        }
    }

    // ResNet's shortcuts: 1×1 with stride 2 at every stage's entry (the 256→512 one on channels-last input is where
    // oneDNN's own kernel went wrong), and stride 1.
    [Theory]
    [InlineData(256, 512, 2, 2, true)]
    [InlineData(256, 512, 2, 4, true)]
    [InlineData(64, 128, 2, 8, true)]
    [InlineData(32, 48, 1, 5, false)]
    public void PointwiseConvolutionEqualsTheConvolution(int inChannels, int outChannels, int stride, int size, bool channelsLast)
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(11);
        using var conv = nn.Conv2d(inChannels, outChannels, 1, stride: stride, bias: false);
        var x = randn(4, inChannels, size, size);
        var xFast = x.clone().requires_grad_(true);
        Assert.True(PointwiseConvolution.Applies(conv, xFast));
        var fast = PointwiseConvolution.Forward(conv, channelsLast ? ChannelsLast.From(xFast) : xFast);
        var upstream = randn(fast.shape);
        fast.backward([upstream]);

        var xLibrary = x.to(ScalarType.Float64).requires_grad_(true);
        var weightLibrary = conv.weight!.detach().to(ScalarType.Float64).requires_grad_(true);
        var library = nn.functional.conv2d(xLibrary, weightLibrary, strides: [stride, stride]);
        library.backward([upstream.to(ScalarType.Float64)]);

        Assert.Equal(library.shape, fast.shape);
        AssertClose(library, fast);
        AssertClose(xLibrary.grad!, xFast.grad!);
        AssertClose(weightLibrary.grad!, conv.weight!.grad!);
    }

    [Theory]
    [InlineData(8, 8, 3, 1, 1)]   // not 1×1
    [InlineData(8, 8, 1, 1, 1, true)]   // bias
    public void PointwiseConvolutionDeclinesOtherConvolutions(int inChannels, int outChannels, int kernel, int stride, int padding, bool bias = false)
    {
        using var scope = NewDisposeScope();
        using var conv = nn.Conv2d(inChannels, outChannels, kernel, stride: stride, padding: padding, bias: bias);
        Assert.False(PointwiseConvolution.Applies(conv, randn(2, inChannels, 4, 4)));
    }

    [Theory]
    [InlineData(4, 3, 1, 1, false, 1, 1)]   // a 4×4 map: windows no longer cover it
    [InlineData(2, 1, 2, 0, false, 1, 1)]   // the downsampling 1×1/2: its one window misses three pixels
    [InlineData(2, 3, 1, 1, true, 1, 1)]    // bias
    [InlineData(2, 3, 1, 1, false, 2, 1)]   // groups
    [InlineData(2, 3, 1, 1, false, 1, 2)]   // dilation
    public void SmallMapConvolutionDeclinesWhatItDoesNotCover(int size, int kernel, int stride, int padding, bool bias,
        int groups, int dilation)
    {
        using var scope = NewDisposeScope();
        using var conv = nn.Conv2d(8, 8, kernel, stride: stride, padding: padding, bias: bias, groups: groups, dilation: dilation);
        Assert.False(SmallMapConvolution.Applies(conv, randn(2, 8, size, size)));
    }

    [Fact]
    public void ResNetOnCpuAgreesWithTheLibraryPathOnA28By28Batch()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(3);
        using var model = ModelFactory.Create("resnet18", 1, 5);
        model.eval();
        var x = randn(4, 1, 28, 28);
        using var noGrad = no_grad();
        var fast = model.call(x);
        // Reference: the same network in float64, module by module, through the library's convolutions on NCHW tensors.
        model.to(ScalarType.Float64);
        var reference = LibraryForward(model, x.to(ScalarType.Float64));
        AssertClose(reference, fast);
    }

    private static Tensor LibraryForward(nn.Module<Tensor, Tensor> model, Tensor x)
    {
        var modules = model.named_children().ToDictionary(c => c.name, c => c.module);
        Tensor Call(string name, Tensor input) => ((nn.Module<Tensor, Tensor>)modules[name]).call(input);
        var h = Call("maxpool", Call("bn1", Call("conv1", x)).relu());
        foreach (var layer in new[] { "layer1", "layer2", "layer3", "layer4" })
            foreach (var (_, block) in modules[layer].named_children())
            {
                var parts = block.named_children().ToDictionary(c => c.name, c => (nn.Module<Tensor, Tensor>)c.module);
                var residual = parts.TryGetValue("downsample", out var down) ? down.call(h) : h;
                var y = parts["bn2"].call(parts["conv2"].call(parts["bn1"].call(parts["conv1"].call(h)).relu()));
                h = (y + residual).relu();
            }
        return Call("fc", Call("avgpool", h).flatten(1));
    }

    [Fact]
    public void HostAllocatorTuningTakesEffectOnGlibc()
    {
        // Debian's glibc: the settings apply (a broken P/Invoke or parameter would return false); later calls agree.
        Assert.True(HostAllocator.KeepFreedMemory());
        Assert.True(HostAllocator.KeepFreedMemory());
    }

    private static void AssertClose(Tensor expected, Tensor actual)
    {
        var scale = Math.Max(1.0, expected.abs().max().to(ScalarType.Float64).item<double>());
        var error = (expected.to(ScalarType.Float64) - actual.to(ScalarType.Float64)).abs().max().item<double>();
        Assert.True(error <= 1e-5 * scale, $"max difference {error} (scale {scale})");
    }
}
