using SamCluster.Messages;

namespace SamCluster.Experiment;

/// <summary>What the grid's workers mostly train on. It changes what a trial costs: a CPU is bound by arithmetic, a GPU
/// on small images by launching kernels.</summary>
public enum DeviceClass { Cpu, Gpu }

/// <summary>Longest-expected-first scheduling: the long trials start first so the grid does not end waiting on one
/// long trial started last (classic LPT list scheduling).</summary>
public static class TrialOrder
{
    const double TrainingPassesPerForward = 3;   // backward ≈ 2 forwards
    const double CpuSamFactor = 1.7;             // two forward-backward passes per step, measured ≈ 1.7× SGD's time on CPU
    const double GpuSamFactor = 2.0;             // on an H100: 2.0× at 256×256, 2.3–2.5× at 28×28 (PERFORMANCE.md, "GPU")

    /// <summary>What a training step costs a GPU beyond its arithmetic, per weighted layer, in GMAC of arithmetic the same
    /// GPU does in that time. From the H100 bench (batch 128, SGD): step time ≈ a + b·GMAC with a = 10.2 ms, b = 0.0276
    /// ms/GMAC for ResNet-18 (a/b ≈ 370 GMAC, 20.5 per layer) and a = 15.8 ms, b = 0.0217 for ResNet-34 (≈ 730, 21.4 per
    /// layer). By it a Fashion-MNIST ResNet-34 SAM trial of the study costs 4.5 Stanford Dogs ones, as measured (4.4).</summary>
    const double GpuStepOverheadGmacPerLayer = 21;

    /// <summary>Expected cost of a trial's training, in GMACs (giga multiply-accumulates): train images (after limits;
    /// sizes known per dataset, so no data is read) × epochs × model GMACs scaled to the image's pixel count × 3 (forward +
    /// backward) × optimizer factor (SGD and MSAM 1, SAM/ASAM 1.7 on CPU, 2 on GPU, LookSAM SGD's plus SAM's extra on
    /// one step in <c>looksam_k</c>). On a GPU each step also costs its kernel launches, a fixed amount per layer
    /// whatever the image size. Only relative sizes matter for ordering and the ETA.</summary>
    public static double EstimatedCost(TrialSpec trial, DeviceClass device = DeviceClass.Cpu)
    {
        var (data, recipe) = (trial.Data, trial.Recipe);
        var model = Vocabulary.Model(trial.Key.Model);
        var optimizer = Vocabulary.Optimizer(trial.Key.Optimizer);
        // The share of steps that take SAM's second pass: LookSAM takes it on one step in k.
        var samShare = !optimizer.UsesSam ? 0.0 : optimizer.Name == Vocabulary.LookSamName ? 1.0 / recipe.LookSamK : 1.0;
        // The small stem (3×3/1, no max-pool) skips the ImageNet stem's 4× down-sampling per side: 16× the work per pixel.
        var stemFactor = recipe.Stem == Vocabulary.SmallStem.Name ? 16.0 : 1.0;
        var pixelScale = (double)data.ImageSize * data.ImageSize / (224.0 * 224.0);
        var images = TrainImages(data);
        var arithmetic = images * recipe.Epochs * model.GmacAt224 * pixelScale * TrainingPassesPerForward * stemFactor;
        if (device == DeviceClass.Cpu) return arithmetic * (1 + (CpuSamFactor - 1) * samShare);
        var steps = Math.Ceiling(images / recipe.BatchSize) * recipe.Epochs;
        return (arithmetic + steps * model.Layers * GpuStepOverheadGmacPerLayer) * (1 + (GpuSamFactor - 1) * samShare);
    }

    /// <summary>Most expensive first; equal costs by trial id so the order is the same on every run.</summary>
    public static IReadOnlyList<TrialSpec> LongestFirst(IEnumerable<TrialSpec> trials, DeviceClass device = DeviceClass.Cpu) =>
        trials.Select(t => (Trial: t, Cost: EstimatedCost(t, device)))
            .OrderByDescending(t => t.Cost)
            .ThenBy(t => t.Trial.Key.Id, StringComparer.Ordinal)
            .Select(t => t.Trial)
            .ToList();

    /// <summary>Training images the trial will use, from the dataset's known size per class.</summary>
    public static double TrainImages(DataSpec data) => Vocabulary.Dataset(data.Dataset).EstimatedTrainImages(data);

    /// <summary>"cuda", "cuda:N": a GPU; anything else (cpu) a CPU.</summary>
    public static DeviceClass ClassOf(string device) => DeviceNames.IsGpu(device) ? DeviceClass.Gpu : DeviceClass.Cpu;
}
