using SamCluster.Messages;
using static TorchSharp.torch;

namespace SamCluster.Training.Optimization;

/// <summary>The study's schedule: TorchSharp's ReduceLROnPlateau on the test loss with the recipe's factor, patience
/// and floor (PyTorch defaults otherwise: mode min, relative threshold 1e-4, no cooldown).</summary>
public static class PlateauSchedule
{
    public static optim.lr_scheduler.LRScheduler Create(optim.Optimizer optimizer, Recipe recipe) =>
        optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode: "min", factor: recipe.PlateauFactor,
            patience: recipe.PlateauPatience, min_lr: [recipe.MinLearningRate]);
}
