using System.Diagnostics;
using SamCluster.Messages;
using SamCluster.Training.Data;
using SkiaSharp;
using Xunit;
using Xunit.Abstractions;

namespace SamCluster.Tests.Data;

/// <summary>Load-time figures, run on demand only (it writes ~1,600 JPEGs):
/// SAMCLUSTER_BENCH=1 dotnet test tests/SamCluster.Tests -c Release --filter "FullyQualifiedName~DataLoadBenchmark" --logger "console;verbosity=detailed"
/// Prints figures; asserts only that the data loaded.</summary>
public sealed class DataLoadBenchmark(ITestOutputHelper output)
{
    static bool Enabled => Environment.GetEnvironmentVariable("SAMCLUSTER_BENCH") == "1";

    [Fact]
    public void Fashion_mnist_load_times()
    {
        if (!Enabled || !File.Exists(Path.Combine(FashionMnist.DefaultRoot, FashionMnist.TrainImagesFile)))
            return;
        using (TorchSharp.torch.zeros(1)) { }
        foreach (var classes in new[] { Array.Empty<string>(), Enumerable.Range(0, 10).Select(c => c.ToString()).ToArray() })
            for (var run = 0; run < 3; run++)
            {
                var clock = Stopwatch.StartNew();
                using var data = DatasetLoader.Load(new DataSpec(FashionMnist.DatasetName, "", classes));
                output.WriteLine($"fashion-mnist {data.ClassNames.Count} classes: {data.TrainCount}/{data.TestCount} in {clock.Elapsed.TotalMilliseconds:F0} ms");
            }
    }

    [Fact]
    public void Stanford_dogs_decode_and_cache_times()
    {
        if (!Enabled)
            return;
        // The study's shape: 8 breeds × 202 images ≈ 500×375 (Stanford Dogs' typical size), 36 test per breed, 256×256.
        var root = Directory.CreateTempSubdirectory("samcluster-dogs-bench-").FullName;
        try
        {
            var clock = Stopwatch.StartNew();
            var breeds = Enumerable.Range(0, 8).Select(b => $"n0000000{b}-breed_{b}").ToArray();
            Parallel.For(0, breeds.Length * 202, i => WriteNoisyJpeg(Path.Combine(root, breeds[i / 202], $"img_{i % 202:D3}.jpg"), i));
            output.WriteLine($"wrote {breeds.Length * 202} synthetic 500x375 JPEGs in {clock.Elapsed.TotalSeconds:F1} s");

            var spec = new DataSpec(StanfordDogs.DatasetName, root, breeds, ImageSize: 256, CacheDir: Path.Combine(root, ".cache"));
            using (TorchSharp.torch.zeros(1)) { }
            foreach (var attempt in new[] { "first (decode)", "second (cache)", "third (cache)" })
            {
                using var data = StanfordDogs.Load(spec, out var report);
                output.WriteLine($"{attempt}: {data.TrainCount}/{data.TestCount} at {data.ImageSize}px — {report} " +
                                 $"({(report.FromCache ? "" : $"{report.Decoded / report.Elapsed.TotalSeconds:F0} images/s, ")}{Environment.ProcessorCount} cores)");
                Assert.Equal(1328, data.TrainCount);
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
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
