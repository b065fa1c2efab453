using System.Text.Json.Serialization;

namespace SamCluster.Messages;

/// <summary>Where a trial's data comes from and which part of it to use.</summary>
/// <param name="Dataset">"fashion-mnist" or "stanford-dogs".</param>
/// <param name="Root">Folder of the Fashion-MNIST IDX .gz files, or the Stanford Dogs Images/ folder.</param>
/// <param name="Classes">Fashion-MNIST: class indices ("0".."9") or names; Stanford Dogs: breed folder names or synsets (n02085620).</param>
/// <param name="TrainLimit">Use at most this many training images (0 = all), taken evenly across classes.</param>
/// <param name="TestLimit">Use at most this many test images (0 = all).</param>
/// <param name="ImageSize">Side of the square images the model sees (Stanford Dogs is resized to it).</param>
/// <param name="TestPerClass">Stanford Dogs only: images per breed held out for the test split.</param>
/// <param name="SplitSeed">Stanford Dogs only: seed of the per-breed train/test split.</param>
/// <param name="CacheDir">Where decoded images are cached as uint8 (null = beside the data, else a temp folder).</param>
public sealed record DataSpec(
    string Dataset,
    string Root,
    IReadOnlyList<string> Classes,
    int TrainLimit = 0,
    int TestLimit = 0,
    int ImageSize = 28,
    int TestPerClass = 36,
    int SplitSeed = 0,
    string? CacheDir = null)
{
    // A record compares its list by reference; a data selection is the same when every field, and every class in
    // order, reads the same — so it can key a dictionary or be deduplicated as it is.
    public bool Equals(DataSpec? other) =>
        ReferenceEquals(this, other) || other is not null && Dataset == other.Dataset && Root == other.Root
        && TrainLimit == other.TrainLimit && TestLimit == other.TestLimit && ImageSize == other.ImageSize
        && TestPerClass == other.TestPerClass && SplitSeed == other.SplitSeed && CacheDir == other.CacheDir
        && (Classes ?? []).SequenceEqual(other.Classes ?? []);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Dataset);
        hash.Add(Root);
        foreach (var name in Classes ?? []) hash.Add(name);
        hash.Add(TrainLimit);
        hash.Add(TestLimit);
        hash.Add(ImageSize);
        hash.Add(TestPerClass);
        hash.Add(SplitSeed);
        hash.Add(CacheDir);
        return hash.ToHashCode();
    }
}

/// <summary>How a trial trains. Every key's grid name, flag, bounds and default are in SamCluster.Experiment's
/// RecipeTable (the defaults are the study's values); this record is what crosses the wire and the journal.</summary>
/// <param name="Stem">"imagenet" (torchvision's 7×7/2 conv + max-pool) or "small" (3×3/1 conv, no max-pool).</param>
/// <param name="Adaptive">Adaptive SAM (ASAM, Kwon et al. 2021) instead of plain SAM.</param>
public sealed record Recipe(
    int Epochs,
    int BatchSize,
    double LearningRate,
    double Momentum,
    double WeightDecay,
    double Rho,
    bool Adaptive,
    double PlateauFactor,
    int PlateauPatience,
    double MinLearningRate,
    string Stem)
{
    public const int DefaultLookSamK = 5;
    public const double DefaultLookSamAlpha = 0.7;

    // LookSAM's keys are stored only when they differ from their defaults, and written to JSON only then: a spec's JSON
    // (checkpoint fingerprints, the wire, journals, run.json) stays what it was before LookSAM existed for every other
    // trial, so checkpoints written before keep resuming, and records written before read back with the defaults.
    private readonly int? _lookSamK;
    private readonly double? _lookSamAlpha;

    /// <summary>LookSAM (Liu et al. 2022): a full SAM step every this many steps.</summary>
    [JsonIgnore]
    public int LookSamK { get => _lookSamK ?? DefaultLookSamK; init => _lookSamK = value == DefaultLookSamK ? null : value; }

    /// <summary>LookSAM: the weight of the stored orthogonal gradient component in the steps between SAM steps.</summary>
    [JsonIgnore]
    public double LookSamAlpha { get => _lookSamAlpha ?? DefaultLookSamAlpha; init => _lookSamAlpha = value.Equals(DefaultLookSamAlpha) ? null : value; }

    [JsonInclude, JsonPropertyName(nameof(LookSamK)), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    private int? LookSamKIfSet { get => _lookSamK; init => _lookSamK = value; }

    [JsonInclude, JsonPropertyName(nameof(LookSamAlpha)), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    private double? LookSamAlphaIfSet { get => _lookSamAlpha; init => _lookSamAlpha = value; }
}

/// <summary>Everything a worker needs to run one trial; sent over the wire as is.</summary>
public sealed record TrialSpec(TrialKey Key, long Seed, DataSpec Data, Recipe Recipe);
