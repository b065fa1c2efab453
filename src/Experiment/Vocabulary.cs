using SamCluster.Messages;
namespace SamCluster.Experiment;

/// <summary>What is known of a dataset before any file is read: its name, defaults, image-size range and typical size
/// (the last used to estimate trial cost without touching the data, which may live on other machines).</summary>
/// <param name="Name">The name grids, flags, trial ids and file paths use ("fashion-mnist").</param>
/// <param name="Title">The name reports and charts show ("Fashion-MNIST").</param>
/// <param name="DefaultRoot">Where the data is when no path is given; null when it has no standard place.</param>
/// <param name="DefaultClasses">The study's classes, in the form the data loader takes them.</param>
/// <param name="MinImageSize">Smallest image side a trial may ask for (equal to <paramref name="MaxImageSize"/>: fixed).</param>
public sealed record DatasetFacts(
    string Name,
    string Title,
    string? DefaultRoot,
    IReadOnlyList<string> DefaultClasses,
    int DefaultEpochs,
    int DefaultImageSize,
    int MinImageSize,
    int MaxImageSize,
    bool IsFolderOfImages,
    double TrainImagesPerClass,
    double ImagesPerClass)
{
    public bool ImageSizeIsFixed => MinImageSize == MaxImageSize;

    /// <summary>Training images a selection of this dataset holds, from its known size per class (no file is read).</summary>
    public double EstimatedTrainImages(DataSpec data)
    {
        var perClass = IsFolderOfImages
            ? Math.Max(0, ImagesPerClass - data.TestPerClass)   // Dogs: what the per-breed test split leaves
            : TrainImagesPerClass;
        var all = perClass * (data.Classes.Count == 0 ? DefaultClasses.Count : data.Classes.Count);
        return data.TrainLimit > 0 ? Math.Min(all, data.TrainLimit) : all;
    }

    public override string ToString() => Name;
}

/// <summary>A ResNet depth: its name, how many basic blocks each of its four stages holds, and its forward-pass cost at
/// 224×224 in GMACs (He et al. 2016, Table 1), which orders trials longest first.</summary>
public sealed record ModelFacts(string Name, string Title, IReadOnlyList<int> BlocksPerStage, double GmacAt224)
{
    /// <summary>Weighted layers: two convolutions per basic block, the stem's convolution and the classifier (18, 34).</summary>
    public int Layers => 2 * BlocksPerStage.Sum() + 2;

    public override string ToString() => Name;
}

/// <summary>An optimizer a trial may name. Every one is SGD with momentum; SAM wraps it (Foret et al. 2021), adaptively
/// for ASAM (Kwon et al. 2021); Momentum-SAM (Becker et al. 2024) perturbs along the momentum at SGD's cost; LookSAM
/// (Liu et al. 2022) takes SAM's step every k steps and reuses its direction in between.</summary>
/// <param name="UsesSam">It takes SAM's second forward and backward pass (LookSAM: every k-th step).</param>
/// <param name="SamKin">It reads SAM's keys (rho): its trials multiply over them and are compared per SAM cell.</param>
public sealed record OptimizerFacts(string Name, string Title, bool UsesSam, bool Adaptive, bool SamKin)
{
    public override string ToString() => Name;
}

/// <summary>The first layers of the ResNet: torchvision's 7×7/2 conv + max-pool, or a 3×3/1 conv for small images.</summary>
public sealed record StemFacts(string Name, string Description)
{
    public override string ToString() => Name;
}

/// <summary>The one place datasets, models, optimizers and stems are named and described; grids, flags, the data
/// loaders, the model factory, reports and the validator all take them from here.</summary>
public static class Vocabulary
{
    /// <summary>Fashion-MNIST's ten classes in label order; a class may be named by index or by one of these.</summary>
    public static readonly IReadOnlyList<string> FashionMnistClassNames =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>The study's 8 Stanford Dogs breeds (the first 8 synsets: small, similar-looking toy breeds).</summary>
    public static readonly IReadOnlyList<string> StudyDogBreeds =
    [
        "n02085620-Chihuahua", "n02085782-Japanese_spaniel", "n02085936-Maltese_dog", "n02086079-Pekinese",
        "n02086240-Shih-Tzu", "n02086646-Blenheim_spaniel", "n02086910-papillon", "n02087046-toy_terrier",
    ];

    // 60,000 train / 10,000 test over 10 classes; Debian's dataset-fashion-mnist package installs the default root.
    public static readonly DatasetFacts FashionMnist = new("fashion-mnist", "Fashion-MNIST", "/usr/share/datasets/fashion-mnist",
        ["0", "1", "2", "3", "4"], DefaultEpochs: 20, DefaultImageSize: 28, MinImageSize: 28, MaxImageSize: 28,
        IsFolderOfImages: false, TrainImagesPerClass: 6000, ImagesPerClass: 7000);

    // The study's 8 breeds hold 1,616 images: 1,328 train + 288 test (36 per breed), so ≈ 202 per breed. Below 8 pixels
    // the ResNet's five halvings leave nothing; above 2048 one image is 12 MiB.
    public static readonly DatasetFacts StanfordDogs = new("stanford-dogs", "Stanford Dogs", null,
        StudyDogBreeds, DefaultEpochs: 30, DefaultImageSize: 256, MinImageSize: 8, MaxImageSize: 2048,
        IsFolderOfImages: true, TrainImagesPerClass: 166, ImagesPerClass: 202);

    public static readonly IReadOnlyList<DatasetFacts> Datasets = [FashionMnist, StanfordDogs];

    public static readonly ModelFacts ResNet18 = new("resnet18", "ResNet-18", [2, 2, 2, 2], GmacAt224: 1.8);
    public static readonly ModelFacts ResNet34 = new("resnet34", "ResNet-34", [3, 4, 6, 3], GmacAt224: 3.6);
    public static readonly IReadOnlyList<ModelFacts> Models = [ResNet18, ResNet34];

    /// <summary>Names other declarations need as constants (default parameter values).</summary>
    public const string SgdName = "sgd", MsamName = "msam", LookSamName = "looksam", ImageNetStemName = "imagenet";

    public static readonly OptimizerFacts Sgd = new(SgdName, "SGD", UsesSam: false, Adaptive: false, SamKin: false);
    public static readonly OptimizerFacts Sam = new("sam", "SAM", UsesSam: true, Adaptive: false, SamKin: true);
    public static readonly OptimizerFacts Asam = new("asam", "ASAM", UsesSam: true, Adaptive: true, SamKin: true);
    public static readonly OptimizerFacts Msam = new(MsamName, "Momentum-SAM", UsesSam: false, Adaptive: false, SamKin: true);
    public static readonly OptimizerFacts LookSam = new(LookSamName, "LookSAM", UsesSam: true, Adaptive: false, SamKin: true);
    public static readonly IReadOnlyList<OptimizerFacts> Optimizers = [Sgd, Sam, Asam, Msam, LookSam];

    public static readonly StemFacts ImageNetStem = new(ImageNetStemName, "7x7/2 conv + max-pool (torchvision)");
    public static readonly StemFacts SmallStem = new("small", "3x3/1 conv, no max-pool (small images)");
    public static readonly IReadOnlyList<StemFacts> Stems = [ImageNetStem, SmallStem];

    public static IReadOnlyList<string> DatasetNames { get; } = Datasets.Select(d => d.Name).ToArray();
    public static IReadOnlyList<string> ModelNames { get; } = Models.Select(m => m.Name).ToArray();
    public static IReadOnlyList<string> OptimizerNames { get; } = Optimizers.Select(o => o.Name).ToArray();
    public static IReadOnlyList<string> StemNames { get; } = Stems.Select(s => s.Name).ToArray();

    public static DatasetFacts? FindDataset(string name) => Datasets.FirstOrDefault(d => d.Name == name);
    public static ModelFacts? FindModel(string name) => Models.FirstOrDefault(m => m.Name == name);
    public static OptimizerFacts? FindOptimizer(string name) => Optimizers.FirstOrDefault(o => o.Name == name);
    public static StemFacts? FindStem(string name) => Stems.FirstOrDefault(s => s.Name == name);

    /// <summary>The dataset of that name; a name nothing validated is a bug, not a user error.</summary>
    public static DatasetFacts Dataset(string name) =>
        FindDataset(name) ?? throw new ArgumentException($"unknown dataset '{name}'", nameof(name));

    public static ModelFacts Model(string name) =>
        FindModel(name) ?? throw new ArgumentException($"unknown model '{name}'", nameof(name));

    public static OptimizerFacts Optimizer(string name) =>
        FindOptimizer(name) ?? throw new ArgumentException($"unknown optimizer '{name}'", nameof(name));

    /// <summary>A Fashion-MNIST class by index ("0".."9") or name (case-insensitive; '-', '_', '/' and spaces ignored, and
    /// either half of "T-shirt/top" works), as its label index; null with <paramref name="problem"/> set when it is none.</summary>
    public static int? FashionMnistClass(string given, out string? problem)
    {
        problem = null;
        var text = given.Trim();
        if (long.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var index))
        {
            if (index is >= 0 and < 10) return (int)index;
            problem = $"Fashion-MNIST class {text} is out of range (0-9)";
            return null;
        }
        var key = Slug(text);
        for (var i = 0; i < FashionMnistClassNames.Count; i++)
            if (key.Length > 0 && (Slug(FashionMnistClassNames[i]) == key || FashionMnistClassNames[i].Split('/').Any(part => Slug(part) == key)))
                return i;
        problem = $"unknown Fashion-MNIST class '{given}' (use 0-9 or one of: {string.Join(", ", FashionMnistClassNames)})";
        return null;
    }

    /// <summary>Whether a Stanford Dogs class can name a breed folder at all (a folder name "n02085620-Chihuahua", a breed
    /// name or a synset); which folders exist is only known where the data is.</summary>
    public static string? DogBreedProblem(string given)
    {
        var breed = given.Trim();
        return breed.Length == 0 || breed.All(char.IsAsciiDigit) || breed.IndexOfAny(['/', '\\']) >= 0 || breed.Any(char.IsControl)
            ? $"'{given}' is not a breed: use a folder name (n02085620-Chihuahua), a breed name (Chihuahua) or a synset (n02085620)"
            : null;
    }

    /// <summary>Lower-case letters and digits only, so "Ankle boot", "ankle-boot" and "ANKLE_BOOT" compare equal.</summary>
    public static string Slug(string text) => new(text.Where(char.IsLetterOrDigit).Select(char.ToLowerInvariant).ToArray());
}

/// <summary>Device strings as nodes and workers name them: "cpu", "cuda" (= cuda:0) or "cuda:N" (SamCluster.Training's
/// TrainingDevice parses and checks them, in any case).</summary>
public static class DeviceNames
{
    /// <summary>Whether the device is a GPU ("cuda", "cuda:N").</summary>
    public static bool IsGpu(string device) => device.StartsWith("cuda", StringComparison.OrdinalIgnoreCase);
}
