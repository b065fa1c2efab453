using System.Diagnostics;
using SamCluster.Experiment;
using SamCluster.Messages;
using SamCluster.Training;
using SamCluster.Training.Checkpoints;
using SamCluster.Training.Models;
using SamCluster.Training.Optimization;
using TorchSharp;
using static TorchSharp.torch;

namespace SamCluster.Benchmarks;

/// <summary>What one checkpoint costs next to one epoch of the study's Fashion-MNIST trial.</summary>
/// <param name="EpochSeconds">One epoch (30,000 train + 5,000 test images at 1×28×28, batch 128) estimated from the
/// measured SGD training-step and eval throughput.</param>
sealed record CheckpointCost(string Model, double SaveMilliseconds, double SizeMiB, double TrainImagesPerSecond,
    double EvalImagesPerSecond, double EpochSeconds)
{
    public double PercentOfEpoch => 100 * SaveMilliseconds / 1000 / EpochSeconds;

    public override string ToString() =>
        $"{Model,-9} save {SaveMilliseconds,7:F0} ms  {SizeMiB,6:F1} MiB  epoch ≈ {EpochSeconds,6:F0} s " +
        $"(train {TrainImagesPerSecond:F0} img/s, eval {EvalImagesPerSecond:F0} img/s)  → {PercentOfEpoch:F2} % of an epoch";
}

/// <summary>`checkpoint [FOLDER]`: what one per-epoch checkpoint costs (ResNet-18 and -34 with SGD momentum state) next
/// to one epoch of the study's Fashion-MNIST trial on this CPU. Writes into FOLDER (default: a temp folder; the disk
/// it is on is part of what is measured) and deletes what it wrote.</summary>
public static class CheckpointOverheadBenchmark
{
    public static int Run(string[] args)
    {
        if (args.Length > 1)
        {
            Console.Error.WriteLine($"checkpoint takes at most one argument (a folder), got '{string.Join(" ", args)}'");
            return 2;
        }
        TorchRuntime.Initialize(TorchRuntime.ResolveDirectory(null));
        torch.set_num_threads(Environment.ProcessorCount);
        var folder = args.Length == 1 ? Path.GetFullPath(args[0]) : Directory.CreateTempSubdirectory("samcluster-checkpoint-bench-").FullName;
        var owned = args.Length == 0;
        try
        {
            Console.WriteLine($"checkpoint overhead on cpu, {torch.get_num_threads()} torch threads, store {folder}");
            Measure(CPU, folder, output: Console.Out);
            return 0;
        }
        finally
        {
            if (owned) Directory.Delete(folder, recursive: true);
        }
    }

    // Checkpoint save time and size for ResNet-18/34 with SGD momentum state, against the time of one Fashion-MNIST
    // epoch (SGD, the faster optimizer, so the larger share).
    const int TrainImages = 30_000, TestImages = 5_000, BatchSize = 128;

    /// <param name="folder">Where the checkpoints are written (and deleted again); the disk it is on is what is measured.</param>
    static IReadOnlyList<CheckpointCost> Measure(Device device, string folder, int saves = 5, int steps = 10,
        TextWriter? output = null)
    {
        var costs = new List<CheckpointCost>();
        foreach (var name in Vocabulary.ModelNames)
        {
            var cost = MeasureModel(name, device, folder, saves, steps);
            output?.WriteLine(cost);
            costs.Add(cost);
        }
        return costs;
    }

    private static CheckpointCost MeasureModel(string name, Device device, string folder, int saves, int steps)
    {
        var fashion = Vocabulary.FashionMnist;
        var spec = new TrialSpec(new TrialKey(fashion.Name, name, Vocabulary.Sgd.Name, 1), 0,
            new DataSpec(fashion.Name, "", fashion.DefaultClasses), RecipeTable.Defaults(fashion.DefaultEpochs) with { BatchSize = BatchSize });
        torch.manual_seed(0);
        using var model = ModelFactory.Create(name, 1, 5);
        model.to(device);
        using var step = TrainingStep.Create(Vocabulary.Sgd.Name, model, spec.Recipe);
        using var scope = NewDisposeScope();
        var input = randn(BatchSize, 1, 28, 28, device: device);
        var target = randint(0, 5, [BatchSize], device: device);

        model.train();
        var trainRate = ImagesPerSecond(steps, () => step.Run(input, target), device);   // also fills the momentum buffers
        model.eval();
        double evalRate;
        using (no_grad()) evalRate = ImagesPerSecond(steps, () => model.call(input), device);
        var epochSeconds = TrainImages / trainRate + TestImages / evalRate;

        var store = new CheckpointStore(folder);
        var history = Enumerable.Range(1, 3).Select(e => new EpochMetrics(e, 1, 50, 1, 50, 1e-3, 100, 300)).ToList();
        var plateau = new PlateauState(1, 0, 1e-3);
        var times = new List<double>();
        long size = 0;
        for (int i = 0; i < saves + 1; i++)
        {
            var clock = Stopwatch.StartNew();
            var saved = store.Save(spec, 1, model, step.Optimizer, plateau, history);
            store.PruneOlder(saved);
            var elapsed = clock.Elapsed.TotalMilliseconds;
            if (i > 0) times.Add(elapsed);   // the first save pays for JIT and folder creation
            size = new FileInfo(store.PathOf(saved.Location)).Length;
        }
        store.DeleteTrial(spec.Key.Id);
        times.Sort();
        return new CheckpointCost(name, times[times.Count / 2], size / (1024.0 * 1024), trainRate, evalRate, epochSeconds);
    }

    private static double ImagesPerSecond(int steps, Action run, Device device)
    {
        void Run(int count)
        {
            for (int i = 0; i < count; i++)
            {
                using var stepScope = NewDisposeScope();
                run();
            }
            if (device.type == DeviceType.CUDA) cuda.synchronize(device);
        }
        Run(2);
        var clock = Stopwatch.StartNew();
        Run(steps);
        return steps * BatchSize / clock.Elapsed.TotalSeconds;
    }
}
