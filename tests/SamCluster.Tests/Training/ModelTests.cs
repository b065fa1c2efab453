using SamCluster.Messages;
using SamCluster.Training.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SamCluster.Tests.Training;

[Collection(TorchGlobalState.Name)]
public class ModelTests
{
    [Theory]
    [InlineData("resnet18", 11_689_512L)]
    [InlineData("resnet34", 21_797_672L)]
    public void ParameterCountsMatchTorchvision(string name, long expected)
    {
        using var model = ModelFactory.Create(name, inputChannels: 3, classes: 1000);
        Assert.Equal(expected, model.parameters().Sum(p => p.numel()));
    }

    [Theory]
    [InlineData(1, 28, "imagenet")]
    [InlineData(1, 28, "small")]
    [InlineData(3, 64, "imagenet")]
    [InlineData(3, 64, "small")]
    public void ForwardGivesOneLogitPerClass(int channels, int size, string stem)
    {
        using var scope = NewDisposeScope();
        using var model = ModelFactory.Create("resnet18", channels, classes: 5, stem);
        var logits = model.call(randn(2, channels, size, size));
        Assert.Equal(new long[] { 2, 5 }, logits.shape);
    }

    [Fact]
    public void StateDictKeysFollowTorchvision()
    {
        using var model = ModelFactory.Create("resnet18", 3, 10);
        var keys = model.state_dict().Keys.ToHashSet();
        Assert.Contains("conv1.weight", keys);
        Assert.Contains("layer2.0.downsample.0.weight", keys);
        Assert.Contains("layer2.0.downsample.1.running_var", keys);
        Assert.Contains("layer4.1.bn2.bias", keys);
        Assert.Contains("fc.weight", keys);
    }

    [Fact]
    public void ConvolutionsUseKaimingFanOut()
    {
        torch.manual_seed(1);
        using var model = ModelFactory.Create("resnet18", 3, 10);
        var weight = model.state_dict()["layer4.0.conv2.weight"];   // 512·3·3 fan-out: std = sqrt(2/4608)
        Assert.InRange(weight.std().item<float>(), 0.0208 * 0.97, 0.0208 * 1.03);
        Assert.Equal(0f, weight.mean().item<float>(), 3);
    }

    /// <summary>TorchSharp's BatchNorm forward counts batches with a temporary Scalar (see KeptScalars), so the ResNet
    /// applies its BatchNorms through BatchNormForward, never through the modules' own forward.</summary>
    [Fact]
    public void BatchNormsAreAppliedWithoutTorchSharpsForward()
    {
        using var scope = NewDisposeScope();
        using var model = ModelFactory.Create("resnet18", 1, classes: 5);
        var batchNorms = model.modules().OfType<TorchSharp.Modules.BatchNorm2d>().ToList();
        var calls = 0;
        foreach (var bn in batchNorms) bn.register_forward_pre_hook(_ => calls++);
        model.train();
        model.call(randn(2, 1, 28, 28));
        Assert.Equal(0, calls);
        Assert.All(batchNorms, bn => Assert.Equal(1L, bn.num_batches_tracked!.item<long>()));   // each applied once
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void BatchNormForwardIsTorchSharpsBitForBit(bool training)
    {
        using var scope = NewDisposeScope();
        using var ours = nn.BatchNorm2d(4);
        using var theirs = nn.BatchNorm2d(4);
        var input = randn(3, 4, 5, 5);
        for (int step = 0; step < 3; step++)
        {
            ours.train(training);
            theirs.train(training);
            var expected = theirs.call(input * (step + 1));
            var actual = BatchNormForward.Apply(ours, input * (step + 1));
            Assert.Equal(expected.data<float>().ToArray(), actual.data<float>().ToArray());
        }
        foreach (var (name, buffer) in theirs.named_buffers())
            Assert.True(buffer.eq(ours.named_buffers().Single(b => b.name == name).buffer).all().item<bool>(), $"{name} differs");
    }

    [Theory]
    [InlineData("resnet50", "model")]
    [InlineData("resnet18", "stem")]
    public void UnknownNamesAreUserErrors(string model, string what)
    {
        var error = Assert.Throws<UserInputException>(() => ModelFactory.Create(model, 1, 2, what == "stem" ? "tiny" : "imagenet"));
        Assert.Contains(what, error.Message);
    }
}
