using System.Diagnostics;
using SamCluster.Messages;
using SamCluster.Training;
using SamCluster.Training.Models;
using SamCluster.Training.Optimization;
using TorchSharp;
using static TorchSharp.torch;
using SamCluster.Experiment;

namespace SamCluster.Cli.Bench;

/// <summary>One benchmark case, shaped like the PyTorch peer's arguments (pytorch_peer.py beside this file).</summary>
public sealed record StepBenchmarkCase(string Model, string Optimizer, int Channels, int Size, int Classes, int BatchSize)
{
    public string Input => $"{Channels}x{Size}x{Size}";
}

/// <summary>Training-step throughput, measured as the PyTorch peer measures it: ImageNet-stem model, SGD lr 1e-3
/// momentum 0.9 with each optimizer's own defaults over it (SAM and LookSAM rho 0.05, LookSAM k 5 and alpha 0.7, MSAM
/// rho 0.3), one random batch reused, 5 warm-up steps, then N timed steps.</summary>
public static class StepBenchmark
{
    public const int WarmUpSteps = 5;

    public static double ImagesPerSecond(StepBenchmarkCase benchCase, int steps, Device device)
    {
        torch.manual_seed(0);
        using var scope = NewDisposeScope();
        using var model = ModelFactory.Create(benchCase.Model, benchCase.Channels, benchCase.Classes);
        model.to(device).train();
        using var step = TrainingStep.Create(benchCase.Optimizer, model,
            Recipe(benchCase.Optimizer));
        var input = randn(benchCase.BatchSize, benchCase.Channels, benchCase.Size, benchCase.Size, device: device);
        var target = randint(0, benchCase.Classes, [benchCase.BatchSize], device: device);

        return steps * benchCase.BatchSize / TimedSeconds(step, input, target, steps, device);
    }

    /// <summary>The same case trained as a pack of <paramref name="members"/> (<see cref="PackedTrialRunner"/>'s fused
    /// model and step): images per second of all members together (each member's batch counts).</summary>
    public static double PackedImagesPerSecond(StepBenchmarkCase benchCase, int steps, Device device, int members)
    {
        using var scope = NewDisposeScope();
        var solos = Enumerable.Range(0, members).Select(m =>
        {
            torch.manual_seed(m);
            return ModelFactory.Create(benchCase.Model, benchCase.Channels, benchCase.Classes);
        }).ToList();
        foreach (var solo in solos) solo.to(device);
        using var model = ModelPacking.Pack(solos, benchCase.Model, benchCase.Channels, benchCase.Classes, Vocabulary.ImageNetStemName);
        foreach (var solo in solos) solo.Dispose();
        model.train();
        var recipe = Recipe(benchCase.Optimizer);
        using var step = TrainingStep.Create(benchCase.Optimizer, model, recipe, PackedTrialRunner.PackLoss, members);
        step.SetMemberLearningRates(Enumerable.Repeat(recipe.LearningRate, members).ToList());
        var input = randn(benchCase.BatchSize, members * benchCase.Channels, benchCase.Size, benchCase.Size, device: device);
        var target = randint(0, benchCase.Classes, [members, benchCase.BatchSize], device: device);

        return steps * (double)benchCase.BatchSize * members / TimedSeconds(step, input, target, steps, device);
    }

    /// <summary>The peer's recipe: SGD lr 1e-3, momentum 0.9, the optimizer's own defaults otherwise.</summary>
    private static Recipe Recipe(string optimizer) =>
        RecipeTable.Defaults(Vocabulary.FashionMnist.DefaultEpochs, optimizer) with { LearningRate = 1e-3, Momentum = 0.9 };

    /// <summary>Seconds for <paramref name="steps"/> steps on one batch, after <see cref="WarmUpSteps"/> untimed ones.</summary>
    private static double TimedSeconds(TrainingStep step, Tensor input, Tensor target, int steps, Device device)
    {
        void RunSteps(int count)
        {
            for (int i = 0; i < count; i++)
            {
                using var stepScope = NewDisposeScope();
                step.Run(input, target);
            }
            if (device.type == DeviceType.CUDA) cuda.synchronize(device);
        }

        RunSteps(WarmUpSteps);
        var clock = Stopwatch.StartNew();
        RunSteps(steps);
        return clock.Elapsed.TotalSeconds;
    }
}
