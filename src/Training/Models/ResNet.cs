using SamCluster.Messages;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using SamCluster.Experiment;

namespace SamCluster.Training.Models;

/// <summary>torchvision's BasicBlock: two 3×3 convs with BN, ReLU, identity (or 1×1 conv + BN) shortcut.
/// Field names follow torchvision so state-dict keys match (conv1, bn1, conv2, bn2, downsample.0, downsample.1).
/// With <c>members</c> K &gt; 1 it is K blocks side by side (<see cref="ResNet"/>): every convolution grouped by member,
/// every BatchNorm over the K members' channels.</summary>
public sealed class BasicBlock : Module<Tensor, Tensor>
{
    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Conv2d conv2;
    private readonly BatchNorm2d bn2;
    private readonly Module<Tensor, Tensor>? downsample;
    private readonly Func<Tensor, Tensor>? shortcut;

    public BasicBlock(string name, long inPlanes, long planes, long stride, int members = 1) : base(name)
    {
        long k = members;
        conv1 = Conv2d(k * inPlanes, k * planes, 3, stride: stride, padding: 1, groups: k, bias: false);
        bn1 = BatchNorm2d(k * planes);
        conv2 = Conv2d(k * planes, k * planes, 3, stride: 1, padding: 1, groups: k, bias: false);
        bn2 = BatchNorm2d(k * planes);
        if (stride != 1 || inPlanes != planes)
        {
            // Registered as torchvision names it (downsample.0 / downsample.1), so state dicts match; called through
            // Convolve like the block's other convolutions.
            var projection = Conv2d(k * inPlanes, k * planes, 1, stride: stride, groups: k, bias: false);
            var norm = BatchNorm2d(k * planes);
            downsample = Sequential(("0", projection), ("1", norm));
            shortcut = input => BatchNormForward.Apply(norm, Convolve(projection, input));
        }
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        // In-place ReLU and add as torchvision does: BN's backward does not need its output, so this is safe and
        // saves two allocations per block.
        var residual = shortcut is null ? input : shortcut(input);
        var output = BatchNormForward.Apply(bn2, Convolve(conv2, BatchNormForward.Apply(bn1, Convolve(conv1, input)).relu_()));
        return output.AddInPlace(residual).relu_();
    }

    // On CPU, where it was measured, a convolution over a map its kernel covers entirely (the last stages at 28×28)
    // is computed as the matrix product it amounts to, and so is every 1×1 shortcut (oneDNN's kernel was wrong on
    // one; see PointwiseConvolution). CUDA keeps the library's convolution.
    // A pack's convolutions are grouped by member; on this host oneDNN's grouped kernels on channels-last input gave
    // wrong results in ResNet's last stage (errors of the size of the outputs), its NCHW ones agree with float64
    // (PackedTrainingTests), so on CPU a grouped convolution reads NCHW.
    internal static Tensor Convolve(Conv2d conv, Tensor input)
    {
        if (input.device_type != DeviceType.CPU) return conv.call(input);
        if (conv.groups > 1) return conv.call(input.contiguous());
        if (SmallMapConvolution.Applies(conv, input)) return SmallMapConvolution.Forward(conv, input);
        if (PointwiseConvolution.Applies(conv, input)) return PointwiseConvolution.Forward(conv, input);
        return conv.call(input);
    }
}

/// <summary>torchvision's ResNet with BasicBlocks, for any input channel count and class count. With <c>members</c>
/// K &gt; 1 it is K such networks fused into one module (HFTA's horizontal fusion) for a pack of repeats: input
/// [B, K·C, H, W] (member m's batch in channels m·C..), every convolution grouped by member (weight [K·out, in, kh, kw],
/// groups K), BatchNorm over K·C channels (each member keeps its own statistics), the classifier batched per member;
/// output [K, B, classes]. Each parameter and buffer holds the members' tensors one after another (member-major), in
/// the order and under the names of the solo network's, so member m's slice is a solo tensor (<see cref="ModelPacking"/>).</summary>
public sealed class ResNet : Module<Tensor, Tensor>
{
    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Module<Tensor, Tensor> maxpool;
    private readonly Sequential layer1, layer2, layer3, layer4;
    private readonly AdaptiveAvgPool2d avgpool;
    private readonly Module<Tensor, Tensor> fc;

    /// <summary>Networks fused in this module (1: an ordinary ResNet).</summary>
    public int Members { get; }

    /// <param name="blocksPerLayer">[2,2,2,2] for ResNet-18, [3,4,6,3] for ResNet-34.</param>
    /// <param name="smallStem">3×3/1 stem conv and no max-pool (for 28×28 inputs) instead of 7×7/2 + max-pool.</param>
    public ResNet(string name, IReadOnlyList<int> blocksPerLayer, long inputChannels, long classes, bool smallStem, int members = 1) : base(name)
    {
        if (blocksPerLayer.Count != 4) throw new ArgumentException("a ResNet has four layers", nameof(blocksPerLayer));
        if (members < 1) throw new ArgumentOutOfRangeException(nameof(members), members, "a pack has at least one member");
        Members = members;
        long k = members;
        conv1 = smallStem
            ? Conv2d(k * inputChannels, k * 64, 3, stride: 1, padding: 1, groups: k, bias: false)
            : Conv2d(k * inputChannels, k * 64, 7, stride: 2, padding: 3, groups: k, bias: false);
        bn1 = BatchNorm2d(k * 64);
        maxpool = smallStem ? Identity() : MaxPool2d(3, stride: 2, padding: 1);
        long inPlanes = 64;
        layer1 = MakeLayer(ref inPlanes, 64, blocksPerLayer[0], 1, members);
        layer2 = MakeLayer(ref inPlanes, 128, blocksPerLayer[1], 2, members);
        layer3 = MakeLayer(ref inPlanes, 256, blocksPerLayer[2], 2, members);
        layer4 = MakeLayer(ref inPlanes, 512, blocksPerLayer[3], 2, members);
        avgpool = AdaptiveAvgPool2d(1);
        fc = members == 1 ? Linear(512, classes) : new PackedLinear(members, 512, classes);
        RegisterComponents();
        // A pack's values are its members' (ModelPacking.Pack copies each in): drawing them here would only cost time.
        if (members == 1) InitializeLikeTorchvision();
    }

    private static Sequential MakeLayer(ref long inPlanes, long planes, int blocks, long stride, int members)
    {
        var modules = new List<(string, Module<Tensor, Tensor>)>();
        for (int i = 0; i < blocks; i++)
        {
            modules.Add((i.ToString(), new BasicBlock($"block{i}", inPlanes, planes, i == 0 ? stride : 1, members)));
            inPlanes = planes;
        }
        return Sequential(modules);
    }

    /// <summary>Kaiming-normal (fan_out, ReLU) convs, BN weight 1 / bias 0; fc keeps Linear's default init, as in torchvision.</summary>
    private void InitializeLikeTorchvision()
    {
        using var noGrad = torch.no_grad();
        foreach (var module in modules())
        {
            switch (module)
            {
                case Conv2d conv:
                    init.kaiming_normal_(conv.weight, mode: init.FanInOut.FanOut, nonlinearity: init.NonlinearityType.ReLU);
                    break;
                case BatchNorm2d bn:
                    init.ones_(bn.weight);
                    init.zeros_(bn.bias!);
                    break;
            }
        }
    }

    public override Tensor forward(Tensor input)
    {
        // On CPU the whole network runs channels-last: oneDNN's convolutions then take NHWC as it is, where NCHW costs
        // a reorder to its blocked layout and back around every convolution (forward and backward). Measured on the
        // study's 28×28 step: about +10 % img/s (docs/PERFORMANCE.md). CUDA keeps PyTorch's default layout.
        if (input.device_type == DeviceType.CPU) input = ChannelsLast.From(input);
        var x = maxpool.call(BatchNormForward.Apply(bn1, BasicBlock.Convolve(conv1, input)).relu_());
        x = layer4.call(layer3.call(layer2.call(layer1.call(x))));
        return fc.call(avgpool.call(x).flatten(1));
    }
}

/// <summary>K linear classifiers side by side: input [B, K·F] (member m's features in columns m·F..), output
/// [K, B, classes]; weight [K, classes, F] and bias [K, classes], member m's slice a solo Linear's weight and bias.</summary>
public sealed class PackedLinear : Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly Parameter bias;
    private readonly long _members, _features;

    public PackedLinear(long members, long features, long classes) : base("fc")
    {
        (_members, _features) = (members, features);
        weight = new Parameter(zeros(members, classes, features));
        bias = new Parameter(zeros(members, classes));
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        var perMember = input.view(input.shape[0], _members, _features).transpose(0, 1);   // [K, B, F]
        return perMember.bmm(weight.transpose(1, 2)).AddInPlace(bias.unsqueeze(1));          // x·Wᵀ + b per member
    }
}

/// <summary>Builds the study's models by name (names and depths: <see cref="Vocabulary"/>).</summary>
public static class ModelFactory
{
    /// <param name="stem">A <see cref="Vocabulary.Stems"/> name (Recipe.Stem).</param>
    /// <param name="members">Networks fused into one module for a pack (<see cref="ResNet"/>); 1 for a solo trial.</param>
    public static ResNet Create(string model, long inputChannels, long classes, string stem = Vocabulary.ImageNetStemName, int members = 1)
    {
        var facts = Vocabulary.FindModel(model)
            ?? throw new UserInputException($"unknown model '{model}' (expected {string.Join(" or ", Vocabulary.ModelNames)})");
        if (Vocabulary.FindStem(stem) is null)
            throw new UserInputException($"unknown stem '{stem}' (expected {string.Join(" or ", Vocabulary.StemNames)})");
        return new ResNet(model, facts.BlocksPerStage.ToArray(), inputChannels, classes, smallStem: stem == Vocabulary.SmallStem.Name, members);
    }
}
