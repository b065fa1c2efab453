using SamCluster.Messages;

namespace SamCluster.Coordinator.Grid;

/// <summary>Longest-expected-first scheduling: the long trials start first so the grid does not end waiting on one
/// long trial started last (classic LPT list scheduling).</summary>
public static class TrialOrder
{
    // Forward-pass GMACs of torchvision's ResNets at 224×224 (He et al. 2016, Table 1: 1.8 and 3.6 GFLOPs).
    static readonly IReadOnlyDictionary<string, double> ModelGmacAt224 = new Dictionary<string, double>
    {
        [KnownNames.ResNet18] = 1.8,
        [KnownNames.ResNet34] = 3.6,
    };

    const double TrainingPassesPerForward = 3;   // backward ≈ 2 forwards
    const double SamFactor = 1.7;                // two forward-backward passes per step, measured ≈ 1.7× SGD's time

    /// <summary>Expected compute of a trial's training, in GMACs (giga multiply-accumulates): train images (after
    /// limits; sizes known per dataset, so no data is read) × epochs × model GMACs scaled to the image's pixel count ×
    /// 3 (forward + backward) × optimizer factor (SGD 1, SAM/ASAM 1.7). Only relative sizes matter for ordering.</summary>
    public static double EstimatedCost(TrialSpec trial)
    {
        var (data, recipe) = (trial.Data, trial.Recipe);
        if (!ModelGmacAt224.TryGetValue(trial.Key.Model, out var gmac))
            throw new ArgumentException($"no cost known for model '{trial.Key.Model}'", nameof(trial));
        var optimizerFactor = trial.Key.Optimizer == KnownNames.Sgd ? 1.0 : SamFactor;
        // The small stem (3×3/1, no max-pool) skips the ImageNet stem's 4× down-sampling per side: 16× the work per pixel.
        var stemFactor = recipe.Stem == "small" ? 16.0 : 1.0;
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
    public static double TrainImages(DataSpec data)
    {
        if (!KnownNames.Datasets.TryGetValue(data.Dataset, out var facts))
            throw new ArgumentException($"no size known for dataset '{data.Dataset}'", nameof(data));
        var perClass = facts.IsFolderOfImages
            ? Math.Max(0, facts.ImagesPerClass - data.TestPerClass)   // Dogs: what the per-breed test split leaves
            : facts.TrainImagesPerClass;
        var all = perClass * data.Classes.Count;
        return data.TrainLimit > 0 ? Math.Min(all, data.TrainLimit) : all;
    }
}
