using SamCluster.Messages;

namespace SamCluster.Benchmarks;

/// <summary>`dotnet run --project tests/SamCluster.Benchmarks -c Release -- NAME [ARGS]`: runs one benchmark, which
/// prints its figures. A new benchmark is one more line in <see cref="All"/>.</summary>
public static class Program
{
    /// <summary>A subcommand: its name, a line for the list, and what runs it (given the arguments after the name;
    /// returns the exit code: 0 done, 1 failed, 2 bad arguments).</summary>
    sealed record Benchmark(string Name, string Description, Func<string[], int> Run);

    static readonly Benchmark[] All =
    [
        new("data-load", "Fashion-MNIST load times; Stanford Dogs decode and cache times on a generated JPEG tree", DataLoadBenchmark.Run),
        new("checkpoint", "per-epoch checkpoint save time and size vs one Fashion-MNIST epoch, ResNet-18/34", CheckpointOverheadBenchmark.Run),
    ];

    const int Ok = 0, Failed = 1, Usage = 2;

    public static int Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            var output = args.Length == 0 ? Console.Error : Console.Out;
            output.WriteLine("usage: dotnet run --project tests/SamCluster.Benchmarks -c Release -- <benchmark> [args]");
            foreach (var benchmark in All)
                output.WriteLine($"  {benchmark.Name,-12} {benchmark.Description}");
            return args.Length == 0 ? Usage : Ok;
        }

        var chosen = All.FirstOrDefault(b => b.Name == args[0]);
        if (chosen is null)
        {
            Console.Error.WriteLine($"unknown benchmark '{args[0]}'; valid: {string.Join(", ", All.Select(b => b.Name))}");
            return Usage;
        }

        try
        {
            return chosen.Run(args[1..]);
        }
        catch (UserInputException e)
        {
            Console.Error.WriteLine($"{chosen.Name}: {e.Message}");
            return Failed;
        }
    }
}
