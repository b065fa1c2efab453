using System.Collections.Concurrent;
using System.Diagnostics;
using SamCluster.Messages;
using static TorchSharp.torch;
using SamCluster.Experiment;

namespace SamCluster.Training.Data;

/// <summary>How a Stanford Dogs load went: where its cache entry is, whether it came from there, how many JPEGs were decoded.</summary>
public sealed record DogsLoadReport(string CacheManifest, bool FromCache, int Decoded, TimeSpan Elapsed)
{
    public override string ToString() => FromCache
        ? $"stanford-dogs: loaded from cache {CacheManifest} in {Elapsed.TotalSeconds:F2} s"
        : $"stanford-dogs: decoded {Decoded} JPEGs in {Elapsed.TotalSeconds:F2} s, cached as {CacheManifest}";
}

/// <summary>Stanford Dogs (Khosla et al. 2011) from its official Images/ folder: chosen breeds, a seeded per-breed
/// train/test split, images resized to ImageSize×ImageSize RGB. JPEGs are decoded once, in parallel, and cached.</summary>
public static class StanfordDogs
{

    public static ImageDataset Load(DataSpec spec) => Load(spec, out _);

    public static ImageDataset Load(DataSpec spec, out DogsLoadReport report)
    {
        var clock = Stopwatch.StartNew();
        var imagesRoot = ImagesRoot(spec.Root);
        if (SpecRules.ImageSize(Vocabulary.StanfordDogs).Problem(spec.ImageSize) is { } sizeProblem)
            throw new UserInputException($"stanford-dogs image size {sizeProblem}");
        var breeds = DogBreeds.Resolve(imagesRoot, spec.Classes);
        var split = DogsSplit.Create(imagesRoot, breeds, spec);
        var side = spec.ImageSize;
        foreach (var (name, files) in new[] { ("train", split.Train), ("test", split.Test) })
            if ((long)files.Count * 3 * side * side > int.MaxValue)
                throw new UserInputException(
                    $"stanford-dogs {name} split of {files.Count} images at {side}x{side} is over 2 GB; use fewer breeds, a limit or a smaller image size");

        var cache = new DogsCache(DogsCache.ChooseDirectory(spec.CacheDir, imagesRoot), split, side);
        var cached = cache.TryRead(split.Train.Count, split.Test.Count, side);
        Tensor trainImages, testImages;
        var decoded = 0;
        if (cached is { } hit)
            (trainImages, testImages) = hit;
        else
        {
            trainImages = empty([split.Train.Count, 3, side, side], ScalarType.Byte);
            testImages = empty([split.Test.Count, 3, side, side], ScalarType.Byte);
            try
            {
                DecodeAll(split.Train, trainImages, side);
                DecodeAll(split.Test, testImages, side);
                cache.Write(trainImages, testImages, side, imagesRoot, breeds.Select(b => b.Folder).ToArray());
            }
            catch
            {
                trainImages.Dispose();
                testImages.Dispose();
                throw;
            }
            decoded = split.Train.Count + split.Test.Count;
        }
        report = new DogsLoadReport(cache.ManifestPath, cached is not null, decoded, clock.Elapsed);
        return new ImageDataset(trainImages, Labels(split.Train), testImages, Labels(split.Test),
            breeds.Select(b => b.Name).ToArray());
    }

    /// <summary>The Images/ folder: the given path, or its Images/ subfolder when given the dataset's top folder.</summary>
    static string ImagesRoot(string root)
    {
        if (string.IsNullOrWhiteSpace(root))
            throw new UserInputException("stanford-dogs needs the path of its Images/ folder (it has no default location)");
        if (!Directory.Exists(root))
            throw new UserInputException($"stanford-dogs folder not found: {root} (expected its Images/ folder with one subfolder per breed)");
        var images = Path.Combine(root, "Images");
        return Directory.Exists(images) ? images : root;
    }

    /// <summary>Decodes the files in parallel, each straight into its slot of the tensor. The first unreadable file
    /// (in split order) stops the work and is named.</summary>
    static void DecodeAll(IReadOnlyList<LabelledFile> files, Tensor images, int side)
    {
        var imageBytes = 3 * side * side;
        var failures = new ConcurrentBag<(int Index, UserInputException Error)>();
        Parallel.For(0, files.Count, (i, loop) =>
        {
            try
            {
                JpegDecoder.DecodeInto(files[i].Path, side, images.bytes.Slice(i * imageBytes, imageBytes));
            }
            catch (UserInputException e)
            {
                failures.Add((i, e));
                loop.Stop();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                failures.Add((i, new UserInputException($"{files[i].Path}: cannot be read ({e.Message})", e)));
                loop.Stop();
            }
        });
        if (!failures.IsEmpty)
            throw failures.MinBy(f => f.Index).Error;
    }

    static Tensor Labels(IReadOnlyList<LabelledFile> files) =>
        tensor(files.Select(f => (long)f.Label).ToArray(), [files.Count], ScalarType.Int64);
}
