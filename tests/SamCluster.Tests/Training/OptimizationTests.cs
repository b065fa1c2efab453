using SamCluster.Messages;
using SamCluster.Training.Optimization;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;
using SamCluster.Experiment;

namespace SamCluster.Tests.Training;

/// <summary>SAM, SGD and the BatchNorm guard against formulas computed here on the host, in doubles, for a linear
/// model with a mean-squared-error loss whose gradient is known in closed form.</summary>
[Collection(TorchGlobalState.Name)]
public class OptimizationTests
{
    private static readonly double[,] X = { { 0.5, -1.0, 2.0 }, { 1.5, 0.25, -0.5 }, { -1.0, 0.75, 1.0 }, { 0.2, -0.3, 0.4 } };
    private static readonly double[,] T = { { 1.0, 0.0 }, { 0.0, 1.0 }, { 0.5, -0.5 }, { -1.0, 2.0 } };
    private static readonly double[] W0 = { 0.3, -0.2, 0.1, 0.05, 0.4, -0.6 };   // weight 2×3 row-major, then…
    private static readonly double[] B0 = { 0.1, -0.1 };                          // …bias 2
    private const double Lr = 0.1, Momentum = 0.9, Rho = 0.05;

    private static Tensor MeanSquaredError(Tensor output, Tensor target) => output.sub(target).pow(2).mean();

    private static Linear FixedLinear()
    {
        var model = nn.Linear(3, 2);
        using var noGrad = no_grad();
        model.weight.copy_(tensor(W0.Select(v => (float)v).ToArray()).view(2, 3));
        model.bias!.copy_(tensor(B0.Select(v => (float)v).ToArray()));
        return model;
    }

    private static Tensor Input() => tensor(Flatten(X)).view(4, 3);
    private static Tensor Target() => tensor(Flatten(T)).view(4, 2);
    private static float[] Flatten(double[,] a) => a.Cast<double>().Select(v => (float)v).ToArray();

    /// <summary>Gradient of mean((XWᵀ + b − T)²) over all 8 outputs, as [w00..w12, b0, b1].</summary>
    private static double[] Gradient(double[] w)
    {
        var g = new double[8];
        for (int n = 0; n < 4; n++)
            for (int o = 0; o < 2; o++)
            {
                double r = w[6 + o] - T[n, o];
                for (int i = 0; i < 3; i++) r += w[o * 3 + i] * X[n, i];
                double d = 2 * r / 8;
                for (int i = 0; i < 3; i++) g[o * 3 + i] += d * X[n, i];
                g[6 + o] += d;
            }
        return g;
    }

    private static double[] Parameters(Linear model) =>
        model.weight.data<float>().Concat(model.bias!.data<float>()).Select(v => (double)v).ToArray();

    private static TrainingStep Step(string optimizer, Linear model, bool adaptive = false) =>
        TrainingStep.Create(optimizer, model, RecipeTable.Defaults(Vocabulary.FashionMnist.DefaultEpochs) with { LearningRate = Lr, Momentum = Momentum, Rho = Rho, Adaptive = adaptive }, MeanSquaredError);

    private static void AssertClose(double[] expected, double[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) < 1e-6, $"parameter {i}: expected {expected[i]:R}, got {actual[i]:R}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void OneSamStepMatchesTheFormula(bool adaptive)
    {
        using var model = FixedLinear();
        using var step = Step("sam", model, adaptive);
        step.Run(Input(), Target());

        var w = W0.Concat(B0).ToArray();
        var g = Gradient(w);
        // SAM: e = rho·g/‖g‖; ASAM: e = rho·w²·g/‖|w|·g‖ (norms over all parameters together)
        var norm = Math.Sqrt(g.Select((gi, i) => Math.Pow((adaptive ? Math.Abs(w[i]) : 1) * gi, 2)).Sum());
        var perturbed = w.Select((wi, i) => wi + Rho * (adaptive ? wi * wi : 1) * g[i] / (norm + 1e-12)).ToArray();
        var sharpGradient = Gradient(perturbed);
        var expected = w.Select((wi, i) => wi - Lr * sharpGradient[i]).ToArray();   // first SGD step: buffer = gradient
        AssertClose(expected, Parameters(model));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SamsSecondStepReturnsToTheWeightsBitForBit(bool adaptive)
    {
        using var scope = NewDisposeScope();   // holds every temporary: one nothing references could be finalized mid-call
        // As davda54/sam's p.data = old_p: the base step starts from w itself, not from w + e - e rounded.
        using var model = SmallConvNet(13);
        var before = AllParameters(model);
        using var flat = new FlatParameters(model.parameters());
        using var sgd = optim.SGD(model.parameters(), 0.0);   // learning rate 0: the base step leaves w as it is
        using var baseStep = new FlatSgd(sgd, flat);
        using var sam = new Sam(flat, baseStep, rho: 0.5, adaptive);
        torch.manual_seed(5);
        var (input, target) = (randn(6, 2, 5, 5), randint(0, 3, [6]));
        nn.functional.cross_entropy(model.call(input), target).backward();
        sam.FirstStep();
        Assert.NotEqual(before, AllParameters(model));   // it climbed to w + e
        nn.functional.cross_entropy(model.call(input), target).backward();
        sam.SecondStep();
        Assert.Equal(before, AllParameters(model));
    }

    [Fact]
    public void SgdMomentumMatchesTheFormulaOverTwoSteps()
    {
        using var model = FixedLinear();
        using var step = Step("sgd", model);
        step.Run(Input(), Target());
        step.Run(Input(), Target());

        var w0 = W0.Concat(B0).ToArray();
        var buffer1 = Gradient(w0);
        var w1 = w0.Select((v, i) => v - Lr * buffer1[i]).ToArray();
        var g1 = Gradient(w1);
        var buffer2 = buffer1.Select((b, i) => Momentum * b + g1[i]).ToArray();
        var w2 = w1.Select((v, i) => v - Lr * buffer2[i]).ToArray();
        AssertClose(w2, Parameters(model));
    }

    [Theory]
    [InlineData("sam")]
    [InlineData("sgd")]
    [InlineData("msam")]
    [InlineData("looksam")]   // its first step is a SAM step, with a second pass
    public void RunningStatisticsMoveOnlyInTheFirstPass(string optimizer)
    {
        using var scope = NewDisposeScope();   // holds every temporary: one nothing references could be finalized mid-call
        torch.manual_seed(3);
        var first = nn.Linear(3, 4);
        var norm = nn.BatchNorm1d(4);
        using var model = nn.Sequential(("first", first), ("norm", norm), ("out", nn.Linear(4, 2)));
        Tensor hidden;
        using (no_grad()) hidden = first.call(Input());
        var expectedMean = hidden.mean([0]).mul(0.1);                          // 0.9·0 + 0.1·batch mean
        var expectedVar = hidden.var(0, unbiased: true).mul(0.1).add(0.9);      // 0.9·1 + 0.1·unbiased batch var

        using var step = TrainingStep.Create(optimizer, model, RecipeTable.Defaults(Vocabulary.FashionMnist.DefaultEpochs) with { LearningRate = Lr, Rho = 0.5 }, MeanSquaredError);
        step.Run(Input(), Target());

        Assert.True(norm.running_mean!.allclose(expectedMean, rtol: 0, atol: 1e-6), "running_mean moved in the second pass");
        Assert.True(norm.running_var!.allclose(expectedVar, rtol: 0, atol: 1e-6), "running_var moved in the second pass");
        Assert.Equal(1L, norm.num_batches_tracked!.item<long>());
    }

    [Fact]
    public void PlateauHalvesAfterPatiencePlusOneFlatEpochsAndStopsAtTheFloor()
    {
        var parameter = new Parameter(zeros(1));
        using var sgd = optim.SGD([parameter], 1.0, momentum: 0.9);
        var schedule = PlateauSchedule.Create(sgd, RecipeTable.Defaults(Vocabulary.FashionMnist.DefaultEpochs) with { PlateauFactor = 0.5, PlateauPatience = 3, MinLearningRate = 0.2 });
        var rates = new List<double>();
        for (int epoch = 0; epoch < 16; epoch++)
        {
            schedule.Step(1.0);   // never improves after the first epoch
            rates.Add(sgd.ParamGroups.First().LearningRate);
        }
        double[] expected = [1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.2, 0.2, 0.2, 0.2];
        Assert.Equal(expected, rates.ToArray());
    }

    [Fact]
    public void PlateauKeepsTheRateWhileTheLossImproves()
    {
        var parameter = new Parameter(zeros(1));
        using var sgd = optim.SGD([parameter], 1.0);
        var schedule = PlateauSchedule.Create(sgd, RecipeTable.Defaults(Vocabulary.FashionMnist.DefaultEpochs) with { PlateauPatience = 0 });
        foreach (var loss in new[] { 5.0, 4.0, 3.0, 2.0 }) schedule.Step(loss);
        Assert.Equal(1.0, sgd.ParamGroups.First().LearningRate);
        schedule.Step(2.0);
        Assert.Equal(0.5, sgd.ParamGroups.First().LearningRate);
    }

    /// <summary>A small conv net with BatchNorm: several parameter tensors of different shapes, and running statistics.</summary>
    private static Sequential SmallConvNet(long seed)
    {
        torch.manual_seed(seed);
        return nn.Sequential(("conv", nn.Conv2d(2, 4, 3, padding: 1)), ("norm", nn.BatchNorm2d(4)), ("relu", nn.ReLU()),
            ("flatten", nn.Flatten()), ("out", nn.Linear(4 * 5 * 5, 3)));
    }

    private static float[] AllParameters(nn.Module model) =>
        model.parameters().SelectMany(p => p.detach().contiguous().data<float>().ToArray()).ToArray();

    [Fact]
    public void FlatSgdStepsAsTorchSharpsSgd()
    {
        using var scope = NewDisposeScope();   // holds every temporary: one nothing references could be finalized mid-call
        // The same model and batches: TorchSharp's own per-parameter SGD against TrainingStep's flat one, with momentum
        // and weight decay, over three steps (the first one starts the momentum buffers).
        using var reference = SmallConvNet(11);
        using var flat = SmallConvNet(11);
        using var sgd = optim.SGD(reference.parameters(), Lr, momentum: Momentum, weight_decay: 0.01);
        using var step = TrainingStep.Create("sgd", flat, RecipeTable.Defaults(Vocabulary.FashionMnist.DefaultEpochs) with { LearningRate = Lr, Momentum = Momentum, WeightDecay = 0.01 });
        torch.manual_seed(5);
        var inputs = Enumerable.Range(0, 3).Select(_ => randn(6, 2, 5, 5)).ToList();
        var targets = Enumerable.Range(0, 3).Select(_ => randint(0, 3, [6])).ToList();
        for (int i = 0; i < 3; i++)
        {
            sgd.zero_grad();
            nn.functional.cross_entropy(reference.call(inputs[i]), targets[i]).backward();
            sgd.step();
            step.Run(inputs[i], targets[i]);
        }
        var (expected, actual) = (AllParameters(reference), AllParameters(flat));
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-6f * Math.Max(1f, Math.Abs(expected[i])), $"parameter value {i}: expected {expected[i]:R}, got {actual[i]:R}");
    }

    [Fact]
    public void FlatParametersShareStorageWithTheModelAndCollectGradients()
    {
        using var scope = NewDisposeScope();   // holds every temporary: one nothing references could be finalized mid-call
        using var model = SmallConvNet(3);
        var before = AllParameters(model);
        using var flat = new FlatParameters(model.parameters());
        Assert.Equal(before, flat.Values.Values.data<float>().ToArray());           // same values, same order
        Assert.Equal(before, AllParameters(model));                                 // the model kept them

        nn.functional.cross_entropy(model.call(randn(4, 2, 5, 5)), randint(0, 3, [4])).backward();
        var gradients = model.parameters().SelectMany(p => p.grad!.contiguous().data<float>().ToArray()).ToArray();
        Assert.Contains(gradients, g => g != 0);
        Assert.Equal(gradients, flat.Gradients.Values.data<float>().ToArray());      // backward wrote into the flat buffer

        using (no_grad()) flat.Values.Values.add_(1);                               // and the model sees the flat buffer
        Assert.Equal(before.Select(v => v + 1).ToArray(), AllParameters(model));
        flat.ZeroGradients();
        Assert.All(model.parameters(), p => Assert.Equal(0f, p.grad!.abs().sum().item<float>()));
    }

    [Fact]
    public void FlatSgdTakesMomentumLoadedIntoItsSgd()
    {
        // What a checkpoint resume does: a fresh step whose SGD state is loaded from a saved one must continue exactly
        // as the original does.
        torch.manual_seed(7);
        var (input, target) = (randn(6, 2, 5, 5), randint(0, 3, [6]));
        var recipe = RecipeTable.Defaults(Vocabulary.FashionMnist.DefaultEpochs) with { LearningRate = Lr, Momentum = Momentum };
        using var original = SmallConvNet(1);
        using var originalStep = TrainingStep.Create("sgd", original, recipe);
        originalStep.Run(input, target);
        originalStep.Run(input, target);
        var saved = new MemoryStream();
        using (var writer = new BinaryWriter(saved, System.Text.Encoding.UTF8, leaveOpen: true))
            ((OptimizerHelper)originalStep.Optimizer).save_state_dict(writer);

        using var resumed = SmallConvNet(2);                                          // other initial values
        using var resumedStep = TrainingStep.Create("sgd", resumed, recipe);
        using (no_grad())
            foreach (var (to, from) in resumed.parameters().Zip(original.parameters())) to.copy_(from);
        saved.Position = 0;
        using (var reader = new BinaryReader(saved))
            ((OptimizerHelper)resumedStep.Optimizer).load_state_dict(reader);

        originalStep.Run(input, target);
        resumedStep.Run(input, target);
        Assert.Equal(AllParameters(original), AllParameters(resumed));
    }

    [Fact]
    public void UnknownOptimizerIsAUserError()
    {
        using var model = FixedLinear();
        Assert.Throws<UserInputException>(() => TrainingStep.Create("adam", model, RecipeTable.Defaults(Vocabulary.FashionMnist.DefaultEpochs)));
    }
}
