using SamCluster.Messages;
using static TorchSharp.torch;
using SamCluster.Experiment;

namespace SamCluster.Training.Data;

/// <summary>Fashion-MNIST (Xiao et al. 2017) from its four IDX .gz files: 60,000 train / 10,000 test grey 28×28 images,
/// 10 classes. Loads a class subset, optionally limited, as one uint8 tensor per split.</summary>
public static class FashionMnist
{
    public const string TrainImagesFile = "train-images-idx3-ubyte.gz", TrainLabelsFile = "train-labels-idx1-ubyte.gz",
        TestImagesFile = "t10k-images-idx3-ubyte.gz", TestLabelsFile = "t10k-labels-idx1-ubyte.gz";

    public const int Side = 28;

    static IReadOnlyList<string> ClassNames => Vocabulary.FashionMnistClassNames;

    /// <summary>The study's subset when none is given: classes 0–4 (T-shirt/top, Trouser, Pullover, Dress, Coat).</summary>
    public static readonly IReadOnlyList<int> DefaultClasses = Vocabulary.FashionMnist.DefaultClasses.Select(int.Parse).ToArray();

    public static ImageDataset Load(DataSpec spec)
    {
        if (spec.ImageSize != Side)
            throw new UserInputException($"fashion-mnist images are {Side}x{Side}; image size {spec.ImageSize} is not supported");
        var root = string.IsNullOrWhiteSpace(spec.Root) ? Vocabulary.FashionMnist.DefaultRoot! : spec.Root;
        if (!Directory.Exists(root))
            throw new UserInputException(
                $"fashion-mnist folder not found: {root} (it must hold {TrainImagesFile} and the three other IDX .gz files; on Debian: apt-get install dataset-fashion-mnist)");
        var classes = ResolveClasses(spec.Classes);
        var names = classes.Select(c => ClassNames[c]).ToArray();

        var (trainImages, trainLabels) = LoadSplit(root, TrainImagesFile, TrainLabelsFile, classes, spec.TrainLimit, "train");
        try
        {
            var (testImages, testLabels) = LoadSplit(root, TestImagesFile, TestLabelsFile, classes, spec.TestLimit, "test");
            return new ImageDataset(trainImages, trainLabels, testImages, testLabels, names);
        }
        catch
        {
            trainImages.Dispose();
            trainLabels.Dispose();
            throw;
        }
    }

    /// <summary>Class indices for the given indices ("0".."9") or names (case-insensitive, punctuation ignored, so
    /// "ankle-boot", "Ankle boot", "t-shirt" and "top" all work); <see cref="DefaultClasses"/> when none are given.</summary>
    public static IReadOnlyList<int> ResolveClasses(IReadOnlyList<string> classes)
    {
        if (classes.Count == 0)
            return DefaultClasses;
        var resolved = new List<int>();
        foreach (var given in classes)
        {
            var index = ResolveClass(given);
            if (resolved.Contains(index))
                throw new UserInputException($"fashion-mnist class '{given}' is listed twice (it is class {index}, {ClassNames[index]})");
            resolved.Add(index);
        }
        return resolved;
    }

    static int ResolveClass(string given) =>
        Vocabulary.FashionMnistClass(given, out var problem) ?? throw new UserInputException(problem!);

    static (Tensor Images, Tensor Labels) LoadSplit(string root, string imagesFile, string labelsFile,
        IReadOnlyList<int> classes, int limit, string split)
    {
        var imagesPath = Path.Combine(root, imagesFile);
        var labelsPath = Path.Combine(root, labelsFile);
        // The two files are independent gzip streams: inflate them side by side.
        var labelsTask = Task.Run(() => IdxFile.ReadLabels(labelsPath));
        IdxFile.Images images;
        try
        {
            images = IdxFile.ReadImages(imagesPath);
        }
        catch
        {
            Task.WaitAny(labelsTask); // never leave a reader running behind an exception (WaitAny does not rethrow)
            throw;
        }
        var labels = labelsTask.GetAwaiter().GetResult();
        if (images.Rows != Side || images.Cols != Side)
            throw new UserInputException($"{imagesPath}: images are {images.Rows}x{images.Cols}, expected {Side}x{Side}");
        if (labels.Length != images.Count)
            throw new UserInputException($"{labelsPath}: {labels.Length} labels but {imagesPath} has {images.Count} images");
        for (var i = 0; i < labels.Length; i++)
            if (labels[i] >= ClassNames.Count)
                throw new UserInputException($"{labelsPath}: label {labels[i]} of item {i} is out of range (0..{ClassNames.Count - 1})");

        var selected = ClassSubset.Select(labels, classes, limit, split);
        return Gather(images, labels, selected);
    }

    /// <summary>Copies the selected images into one [n,1,28,28] tensor: block copies straight into its (CPU) storage.</summary>
    static (Tensor Images, Tensor Labels) Gather(IdxFile.Images images, byte[] labels, ClassSubset.Selection selected)
    {
        var size = images.PixelsPerImage;
        var n = selected.Indices.Length;
        var imageTensor = empty([n, 1, images.Rows, images.Cols], ScalarType.Byte);
        var target = imageTensor.bytes;
        for (var i = 0; i < n; i++)
            images.Pixels.AsSpan(selected.Indices[i] * size, size).CopyTo(target.Slice(i * size, size));
        return (imageTensor, tensor(selected.Labels, [n], ScalarType.Int64));
    }
}
