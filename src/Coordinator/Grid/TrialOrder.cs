using SamCluster.Messages;

namespace SamCluster.Coordinator.Grid;

/// <summary>Longest-expected-first scheduling: the long trials start first so the grid does not end waiting on one
/// long trial started last (classic LPT list scheduling).</summary>
public static class TrialOrder
{
    const double TrainingPassesPerForward = 3;   // backward ≈ 2 forwards
    const double SamFactor = 1.7;                // two forward-backward passes per step, measured ≈ 1.7× SGD's time

    /// <summary>Expected compute of a trial's training, in GMACs (giga multiply-accumulates): train images (after
    /// limits; sizes known per dataset, so no data is read) × epochs × model GMACs scaled to the image's pixel count ×
    /// 3 (forward + backward) × optimizer factor (SGD 1, SAM/ASAM 1.7). Only relative sizes matter for ordering.</summary>
    public static double EstimatedCost(TrialSpec trial)
    {
        var (data, recipe) = (trial.Data, trial.Recipe);
        var gmac = Vocabulary.Model(trial.Key.Model).GmacAt224;
        var optimizerFactor = Vocabulary.Optimizer(trial.Key.Optimizer).UsesSam ? SamFactor : 1.0;
        // The small stem (3×3/1, no max-pool) skips the ImageNet stem's 4× down-sampling per side: 16× the work per pixel.
        var stemFactor = recipe.Stem == Vocabulary.SmallStem.Name ? 16.0 : 1.0;
        var pixelScale = (double)data.ImageSize * data.ImageSize / (224.0 * 224.0);
        return TrainImages(data) * recipe.Epochs * gmac * pixelScale * TrainingPassesPerForward * stemFactor * optimizerFactor;
    }

    /// <summary>Most expensive first; equal costs by trial id so the order is the same on every run.</summary>
    public static IReadOnlyList<TrialSpec> LongestFirst(IEnumerable<TrialSpec> trials) =>
        trials.Select(t => (Trial: t, Cost: EstimatedCost(t)))
            .OrderByDescending(t => t.Cost)
            .ThenBy(t => t.Trial.Key.Id, StringComparer.Ordinal)
            .Select(t => t.Trial)
            .ToList();

    /// <summary>Training images the trial will use, from the dataset's known size per class.</summary>
    public static double TrainImages(DataSpec data) => Vocabulary.Dataset(data.Dataset).EstimatedTrainImages(data);
}
