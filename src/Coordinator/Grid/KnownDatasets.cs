namespace SamCluster.Coordinator.Grid;

/// <summary>What the grid knows about a dataset before reading any file: its defaults and its typical size
/// (used to estimate trial cost without touching the data, which may live on other machines).</summary>
public sealed record DatasetFacts(
    string Name,
    string? DefaultPath,
    IReadOnlyList<string> DefaultClasses,
    int DefaultEpochs,
    int DefaultImageSize,
    bool IsFolderOfImages,
    double TrainImagesPerClass,
    double ImagesPerClass);

/// <summary>The names a grid may use for datasets, models and optimizers, with their built-in facts.</summary>
public static class KnownNames
{
    public const string FashionMnist = "fashion-mnist", StanfordDogs = "stanford-dogs";
    public const string ResNet18 = "resnet18", ResNet34 = "resnet34";
    public const string Sgd = "sgd", Sam = "sam", Asam = "asam";

    /// <summary>Fashion-MNIST's ten classes in label order; a grid may name a class by index or by one of these.</summary>
    public static readonly IReadOnlyList<string> FashionMnistClassNames =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>The study's 8 Stanford Dogs breeds (small, similar-looking toy breeds: a hard fine-grained task).</summary>
    public static readonly IReadOnlyList<string> StudyDogBreeds =
    [
        "n02085620-Chihuahua", "n02085782-Japanese_spaniel", "n02085936-Maltese_dog", "n02086079-Pekinese",
        "n02086240-Shih-Tzu", "n02086646-Blenheim_spaniel", "n02086910-papillon", "n02087046-toy_terrier",
    ];

    public static readonly IReadOnlyDictionary<string, DatasetFacts> Datasets = new Dictionary<string, DatasetFacts>
    {
        // 60,000 train / 10,000 test over 10 classes.
        [FashionMnist] = new(FashionMnist, "/usr/share/datasets/fashion-mnist", ["0", "1", "2", "3", "4"],
            DefaultEpochs: 20, DefaultImageSize: 28, IsFolderOfImages: false, TrainImagesPerClass: 6000, ImagesPerClass: 7000),
        // The study's 8 breeds hold 1,616 images: 1,328 train + 288 test (36 per breed), so ≈ 202 per breed.
        [StanfordDogs] = new(StanfordDogs, null, StudyDogBreeds,
            DefaultEpochs: 30, DefaultImageSize: 256, IsFolderOfImages: true, TrainImagesPerClass: 166, ImagesPerClass: 202),
    };

    public static readonly IReadOnlyList<string> Models = [ResNet18, ResNet34];
    public static readonly IReadOnlyList<string> Optimizers = [Sgd, Sam, Asam];
    public static readonly IReadOnlyList<string> Stems = ["imagenet", "small"];
}
