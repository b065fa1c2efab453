using SamCluster.Training.Optimization;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace SamCluster.Tests.Training;

/// <summary>Our plateau schedule against TorchSharp's ReduceLROnPlateau (PyTorch's semantics), step by step.</summary>
[Collection(TorchGlobalState.Name)]
public class PlateauScheduleTests
{
    /// <summary>Losses that fall with noise, sit on plateaus, creep down by less and by more than the 1e-4 relative
    /// threshold, hit it exactly, jump up, and now and then are NaN.</summary>
    private static List<double> Losses(int seed, int count)
    {
        var random = new Random(seed);
        var losses = new List<double>();
        double level = 2.0, best = double.PositiveInfinity;
        while (losses.Count < count)
        {
            var kind = random.Next(7);
            var run = random.Next(1, 9);
            for (int i = 0; i < run && losses.Count < count; i++)
            {
                double loss = kind switch
                {
                    0 => level *= 0.9 + 0.05 * random.NextDouble(),             // improving
                    1 => level,                                                  // flat
                    2 => best * (1 - 0.5e-4),                                    // better, but under the threshold
                    3 => best * (1 - 1e-4),                                      // exactly at the threshold
                    4 => best * (1 - 2e-4),                                      // just over it
                    5 => level * (1 + random.NextDouble()),                      // worse
                    _ => random.Next(10) == 0 ? double.NaN : level * (0.8 + 0.4 * random.NextDouble()),
                };
                if (!double.IsFinite(loss)) loss = kind == 6 ? double.NaN : 1.0;
                losses.Add(loss);
                if (loss < best) best = loss;
            }
        }
        return losses;
    }

    private static SGD Sgd(double lr) => optim.SGD([new Parameter(zeros(1))], lr, momentum: 0.9);

    [Theory]
    [InlineData(0.5, 3, 1e-6, 1.0, 1, true)]
    [InlineData(0.5, 0, 1e-6, 0.001, 2, true)]
    [InlineData(0.1, 2, 1e-3, 1.0, 3, true)]
    [InlineData(0.5, 1, 0.0, 0.001, 4, true)]
    [InlineData(0.9, 0, 0.0009999999, 0.001, 5, false)]   // every cut would be smaller than eps: none is made
    public void MatchesTorchSharpsReduceLROnPlateauAfterEveryStep(double factor, int patience, double minLr, double lr, int seed, bool cuts)
    {
        using var theirOptimizer = Sgd(lr);
        using var ourOptimizer = Sgd(lr);
        var theirs = optim.lr_scheduler.ReduceLROnPlateau(theirOptimizer, mode: "min", factor: factor, patience: patience, min_lr: [minLr]);
        var ours = new PlateauSchedule(ourOptimizer, factor, patience, minLr);

        var losses = Losses(seed, 400);
        int reductions = 0;
        for (int i = 0; i < losses.Count; i++)
        {
            var before = ours.LearningRate;
            theirs.step(losses[i]);
            ours.Step(losses[i]);
            var expected = theirOptimizer.ParamGroups.First().LearningRate;
            Assert.True(expected == ourOptimizer.ParamGroups.First().LearningRate,
                $"step {i} (loss {losses[i]:R}): TorchSharp {expected:R}, ours {ourOptimizer.ParamGroups.First().LearningRate:R}");
            Assert.Equal(ours.LearningRate, ourOptimizer.ParamGroups.First().LearningRate);
            if (ours.LearningRate < before) reductions++;
        }
        if (cuts) Assert.True(reductions >= 2, $"the losses should make the schedule cut the rate; it cut {reductions} times");
        else Assert.Equal(lr, ours.LearningRate);
    }

    [Fact]
    public void RestoredStateContinuesExactlyAsTheOriginal()
    {
        using var original = Sgd(1.0);
        var schedule = new PlateauSchedule(original, 0.5, 2, 1e-6);
        var losses = Losses(11, 300);
        foreach (var loss in losses.Take(150)) schedule.Step(loss);

        using var fresh = Sgd(1.0);
        var resumed = new PlateauSchedule(fresh, 0.5, 2, 1e-6);
        resumed.Restore(schedule.State);
        Assert.Equal(schedule.State, resumed.State);
        foreach (var loss in losses.Skip(150))
        {
            schedule.Step(loss);
            resumed.Step(loss);
            Assert.Equal(schedule.State, resumed.State);
            Assert.Equal(original.ParamGroups.First().LearningRate, fresh.ParamGroups.First().LearningRate);
        }
    }
}
