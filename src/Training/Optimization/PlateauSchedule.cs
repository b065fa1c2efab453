using SamCluster.Messages;
using static TorchSharp.torch;

namespace SamCluster.Training.Optimization;

/// <summary>What a <see cref="PlateauSchedule"/> carries from one epoch to the next; a checkpoint stores it.</summary>
/// <param name="Best">Lowest loss seen so far (+∞ before the first step).</param>
/// <param name="BadEpochs">Epochs since the last improvement.</param>
/// <param name="LearningRate">The optimizer's current learning rate.</param>
public readonly record struct PlateauState(double Best, int BadEpochs, double LearningRate);

/// <summary>The study's schedule: PyTorch's ReduceLROnPlateau on the test loss with the recipe's factor, patience and
/// floor, and its defaults otherwise (mode min, relative threshold 1e-4, no cooldown, eps 1e-8). Our own rather than
/// TorchSharp's because a resumed trial must restore its state, which TorchSharp's keeps private.</summary>
public sealed class PlateauSchedule
{
    public const double Threshold = 1e-4;
    public const double Eps = 1e-8;

    private readonly optim.Optimizer _optimizer;

    public double Factor { get; }
    public int Patience { get; }
    public double MinLearningRate { get; }
    public double Best { get; private set; } = double.PositiveInfinity;
    public int BadEpochs { get; private set; }

    /// <summary>The first parameter group's rate (a trial's optimizer has one group).</summary>
    public double LearningRate => _optimizer.ParamGroups.First().LearningRate;

    public PlateauSchedule(optim.Optimizer optimizer, double factor, int patience, double minLearningRate)
    {
        if (!(factor is > 0 and < 1)) throw new ArgumentOutOfRangeException(nameof(factor), factor, "must be in (0, 1)");
        if (patience < 0) throw new ArgumentOutOfRangeException(nameof(patience), patience, "must be >= 0");
        _optimizer = optimizer;
        Factor = factor;
        Patience = patience;
        MinLearningRate = minLearningRate;
    }

    public static PlateauSchedule Create(optim.Optimizer optimizer, Recipe recipe) =>
        new(optimizer, recipe.PlateauFactor, recipe.PlateauPatience, recipe.MinLearningRate);

    /// <summary>One epoch's loss: counts it as an improvement or a bad epoch, and cuts the rate after more than
    /// Patience bad epochs in a row. A NaN loss counts as bad, as in PyTorch.</summary>
    public void Step(double loss)
    {
        if (loss < Best * (1 - Threshold))
        {
            Best = loss;
            BadEpochs = 0;
        }
        else BadEpochs++;

        if (BadEpochs > Patience)
        {
            foreach (var group in _optimizer.ParamGroups)
            {
                var reduced = Math.Max(group.LearningRate * Factor, MinLearningRate);
                if (group.LearningRate - reduced > Eps) group.LearningRate = reduced;
            }
            BadEpochs = 0;
        }
    }

    public PlateauState State => new(Best, BadEpochs, LearningRate);

    /// <summary>Continues from a saved state, the optimizer's rate included.</summary>
    public void Restore(PlateauState state)
    {
        if (state.BadEpochs < 0) throw new ArgumentOutOfRangeException(nameof(state), state.BadEpochs, "bad epochs must be >= 0");
        Best = state.Best;
        BadEpochs = state.BadEpochs;
        foreach (var group in _optimizer.ParamGroups) group.LearningRate = state.LearningRate;
    }
}
