using SamCluster.Cli.Processes;
using SamCluster.Tests.BadInput;
using SamCluster.Tests.Cluster;
using Xunit;
using Xunit.Abstractions;

namespace SamCluster.Tests.Deploy;

/// <summary>What the GPU route rests on and can be checked without a GPU: how `local` places its nodes on a machine's
/// GPUs, and the PyTorch peer that `bench` runs shipping with the program.</summary>
public sealed class GpuRouteTests
{
    [Theory]
    // no --devices on a machine with GPUs: one node per GPU by default
    [InlineData(null, null, 2, "cuda:0|cuda:1")]
    [InlineData(null, null, 1, "cuda:0")]
    // --nodes with GPUs: dealt out round-robin; fewer nodes than GPUs get several each, more share them
    [InlineData(2, null, 4, "cuda:0,cuda:2|cuda:1,cuda:3")]
    [InlineData(1, null, 3, "cuda:0,cuda:1,cuda:2")]
    [InlineData(3, null, 2, "cuda:0|cuda:1|cuda:0")]
    // no GPU: CPU nodes, 2 unless --nodes says
    [InlineData(null, null, 0, "cpu|cpu")]
    [InlineData(3, null, 0, "cpu|cpu|cpu")]
    // --devices: every node gets them as given, GPUs or not
    [InlineData(null, "cpu", 2, "cpu|cpu")]
    [InlineData(2, "cuda:1", 2, "cuda:1|cuda:1")]
    [InlineData(1, "cuda:0,cuda:1", 2, "cuda:0,cuda:1")]
    public void Local_places_its_nodes_one_per_GPU_unless_told_otherwise(int? nodes, string? devices, int gpus, string expected)
    {
        Assert.Equal(expected, string.Join("|", LocalNodes.DevicesPerNode(nodes, devices, gpus)));
    }
}

/// <summary>`bench` runs the repository's own PyTorch peer (src/Cli/Bench/pytorch_peer.py, built beside the program),
/// with nothing from outside the repository.</summary>
[Collection(ProcessLanes.Resume)]
public sealed class BenchPeerTests(ITestOutputHelper log) : IDisposable
{
    readonly string _work = Directory.CreateTempSubdirectory("samcluster-bench-").FullName;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    [SkippableFact]
    public void Bench_runs_the_peer_that_ships_beside_the_program_by_default()
    {
        Assert.True(File.Exists(Path.Combine(AppContext.BaseDirectory, "bench", "pytorch_peer.py")), "bench/pytorch_peer.py is not in the build output");
        Skip.If(Training.PythonTorch.Find() is null, "no python3 with torch here (apt-get install python3-torch) to run the peer");

        // The smallest case: what is checked is that the peer was found and ran each optimizer (the cheaper SAMs as
        // their reference code steps), and that each row gives its time relative to SGD's, not the figures.
        var run = BadInput.Cli.RunWithin(TimeSpan.FromMinutes(2), _work, "bench", "--models", "resnet18", "--optimizers", "msam,looksam,sgd", "--inputs", "1x28",
            "--steps", "1", "--batch-size", "4", "--threads", "1");
        log.WriteLine(run.ToString());
        Assert.Equal(0, run.ExitCode);
        Assert.DoesNotContain("pytorch peer:", run.Stdout); // said only when the peer cannot run
        foreach (var optimizer in new[] { "sgd", "msam", "looksam" })
        {
            Assert.Matches($@"(?m)^  peer: pytorch \S+ cpu x1 resnet18 {optimizer} batch=4 input=1x28x28 img/s=[0-9.]+$", run.Stdout);
            // model, optimizer, input, ours, peer's, ours/peer, x sgd (ours), x sgd (peer's), rss
            Assert.Matches($@"(?m)^resnet18 +{optimizer} +1x28x28 +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9]+$", run.Stdout);
        }
        // SGD is measured first, whatever the order asked, so the others have its time to compare with.
        Assert.True(run.Stdout.IndexOf("resnet18  sgd", StringComparison.Ordinal) < run.Stdout.IndexOf("resnet18  msam", StringComparison.Ordinal), run.Stdout);
    }
}
