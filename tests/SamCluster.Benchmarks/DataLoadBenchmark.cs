using System.Diagnostics;
using SamCluster.Messages;
using SamCluster.Training;
using SamCluster.Training.Data;
using SkiaSharp;
using SamCluster.Experiment;

namespace SamCluster.Benchmarks;

/// <summary>`data-load`: load-time figures. Fashion-MNIST from its installed files (study subset and all ten classes,
/// three loads each; reported as skipped where the files are not installed), then Stanford Dogs decode and cache times
/// on a study-shaped tree of ~1,600 synthetic JPEGs written to a temp folder and deleted afterwards. Exit code 1 if
/// the dogs data does not come out at the study's size.</summary>
public static class DataLoadBenchmark
{
    public static int Run(string[] args)
    {
        if (args.Length > 0)
        {
            Console.Error.WriteLine($"data-load takes no arguments, got '{string.Join(" ", args)}'");
            return 2;
        }
        TorchRuntime.Initialize(TorchRuntime.ResolveDirectory(null));
        using (TorchSharp.torch.zeros(1)) { } // load the native library first: its start-up is not the loader's time
        FashionMnistLoadTimes();
        return StanfordDogsDecodeAndCacheTimes() ? 0 : 1;
    }

    static void FashionMnistLoadTimes()
    {
        if (!File.Exists(Path.Combine(Vocabulary.FashionMnist.DefaultRoot!, FashionMnist.TrainImagesFile)))
        {
            Console.WriteLine($"fashion-mnist: SKIPPED, no {FashionMnist.TrainImagesFile} in {Vocabulary.FashionMnist.DefaultRoot} " +
                              "(Debian: apt-get install dataset-fashion-mnist)");
            return;
        }
        foreach (var classes in new[] { Array.Empty<string>(), Enumerable.Range(0, 10).Select(c => c.ToString()).ToArray() })
            for (var run = 0; run < 3; run++)
            {
                var clock = Stopwatch.StartNew();
                using var data = DatasetLoader.Load(new DataSpec(Vocabulary.FashionMnist.Name, "", classes));
                Console.WriteLine($"fashion-mnist {data.ClassNames.Count} classes: {data.TrainCount}/{data.TestCount} in {clock.Elapsed.TotalMilliseconds:F0} ms");
            }
    }

    /// <summary>The study's shape: 8 breeds × 202 images ≈ 500×375 (Stanford Dogs' typical size), 36 test per breed,
    /// 256×256. Decodes once, then loads from the cache twice.</summary>
    static bool StanfordDogsDecodeAndCacheTimes()
    {
        const int Breeds = 8, ImagesPerBreed = 202, ExpectedTrain = Breeds * (ImagesPerBreed - 36);
        var root = Directory.CreateTempSubdirectory("samcluster-dogs-bench-").FullName;
        try
        {
            var clock = Stopwatch.StartNew();
            var breeds = Enumerable.Range(0, Breeds).Select(b => $"n0000000{b}-breed_{b}").ToArray();
            Parallel.For(0, Breeds * ImagesPerBreed, i => WriteNoisyJpeg(Path.Combine(root, breeds[i / ImagesPerBreed], $"img_{i % ImagesPerBreed:D3}.jpg"), i));
            Console.WriteLine($"wrote {Breeds * ImagesPerBreed} synthetic 500x375 JPEGs to {root} in {clock.Elapsed.TotalSeconds:F1} s");

            var spec = new DataSpec(Vocabulary.StanfordDogs.Name, root, breeds, ImageSize: 256, CacheDir: Path.Combine(root, ".cache"));
            foreach (var attempt in new[] { "first (decode)", "second (cache)", "third (cache)" })
            {
                using var data = StanfordDogs.Load(spec, out var report);
                Console.WriteLine($"{attempt}: {data.TrainCount}/{data.TestCount} at {data.ImageSize}px — {report} " +
                                  $"({(report.FromCache ? "" : $"{report.Decoded / report.Elapsed.TotalSeconds:F0} images/s, ")}{Environment.ProcessorCount} cores)");
                if (data.TrainCount != ExpectedTrain)
                {
                    Console.Error.WriteLine($"stanford-dogs: expected {ExpectedTrain} training images, got {data.TrainCount}");
                    return false;
                }
            }
            return true;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
            Console.WriteLine($"deleted {root}");
        }
    }

    static void WriteNoisyJpeg(string path, int seed)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var random = new Random(seed);
        using var bitmap = new SKBitmap(500, 375);
        var pixels = new byte[500 * 375 * 4];
        random.NextBytes(pixels);
        for (var i = 0; i < pixels.Length; i++)
            pixels[i] = (byte)((pixels[i] >> 2) + (i / 4 % 500) / 3); // texture plus a gradient, like a photo more than noise
        System.Runtime.InteropServices.Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
        using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 85);
        File.WriteAllBytes(path, data.ToArray());
    }
}
