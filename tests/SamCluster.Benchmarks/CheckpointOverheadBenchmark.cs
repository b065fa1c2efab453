using SamCluster.Training;
using TorchSharp;

namespace SamCluster.Benchmarks;

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
            CheckpointBenchmark.Measure(torch.CPU, folder, output: Console.Out);
            return 0;
        }
        finally
        {
            if (owned) Directory.Delete(folder, recursive: true);
        }
    }
}
