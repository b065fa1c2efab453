using System.Diagnostics;
using SamCluster.Messages;
using SamCluster.Training.Data;
using Xunit;
using Xunit.Abstractions;
using SamCluster.Experiment;

namespace SamCluster.Tests.Data;

/// <summary>The real files, where installed (Debian's dataset-fashion-mnist): counts and class balance of the study's
/// subset; reported as skipped where they are not. Prints the load time; it is a figure to read, not a pass/fail threshold.</summary>
public sealed class RealFashionMnistTests(ITestOutputHelper output)
{
    [SkippableFact]
    public void Study_subset_loads_30000_by_5000_balanced()
    {
        Skip.IfNot(File.Exists(Path.Combine(Vocabulary.FashionMnist.DefaultRoot!, FashionMnist.TrainImagesFile)),
            $"no Fashion-MNIST in {Vocabulary.FashionMnist.DefaultRoot} ({FashionMnist.TrainImagesFile} not found); " +
            "install Debian's dataset-fashion-mnist package (apt-get install dataset-fashion-mnist) to run it");
        using (TorchSharp.torch.zeros(1)) { } // load the native library first: its start-up is not the loader's time
        var clock = Stopwatch.StartNew();
        using var data = DatasetLoader.Load(new DataSpec(Vocabulary.FashionMnist.Name, "", []));
        output.WriteLine($"fashion-mnist classes 0-4: {data.TrainCount} train / {data.TestCount} test in {clock.Elapsed.TotalMilliseconds:F0} ms; " +
                         $"mean {data.Mean[0]:F4} std {data.Std[0]:F4}");
        Assert.Equal(new long[] { 30000, 1, 28, 28 }, data.TrainImages.shape);
        Assert.Equal(new long[] { 5000, 1, 28, 28 }, data.TestImages.shape);
        Assert.Equal(Enumerable.Repeat(6000L, 5), data.TrainLabels.bincount(null, 5).data<long>().ToArray());
        Assert.Equal(Enumerable.Repeat(1000L, 5), data.TestLabels.bincount(null, 5).data<long>().ToArray());
        Assert.InRange(data.Mean[0], 0.2f, 0.5f);
    }
}
