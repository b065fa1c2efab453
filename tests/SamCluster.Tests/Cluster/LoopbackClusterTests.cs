using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using SamCluster.Tests.Data;
using SamCluster.Training.Data;
using Xunit;
using Xunit.Abstractions;

namespace SamCluster.Tests.Cluster;

/// <summary>The real thing on loopback: a coordinator process and two node processes (this build's samcluster) run a
/// tiny grid on generated Fashion-MNIST-format files to the end.</summary>
[Collection(ProcessTests.Name)]
public sealed class LoopbackClusterTests(ITestOutputHelper output) : IDisposable
{
    readonly string _work = Directory.CreateTempSubdirectory("samcluster-loopback-").FullName;

    [Fact]
    public void Coordinator_and_two_nodes_run_a_tiny_grid_to_the_end()
    {
        var grid = ProcessTests.WriteTinyGrid(_work, optimizers: "[sgd, sam]", repeats: 2);
        var outDir = Path.Combine(_work, "run");
        var port = ProcessTests.FreePort();

        using var coordinator = ProcessTests.Start(output, "coordinator", grid, "--out", outDir, "--port", port.ToString());
        using var node1 = ProcessTests.Start(output, "node", "--coordinator", $"127.0.0.1:{port}", "--devices", "cpu", "--threads", "1", "--name", "node-a");
        using var node2 = ProcessTests.Start(output, "node", "--coordinator", $"127.0.0.1:{port}", "--devices", "cpu", "--threads", "1", "--name", "node-b");

        Assert.True(coordinator.WaitForExit(TimeSpan.FromMinutes(4)), "coordinator did not finish the grid in 4 minutes");
        Assert.Equal(0, coordinator.ExitCode);
        // Nodes stop cleanly on SIGTERM (what systemd and `local` send).
        foreach (var node in new[] { node1, node2 })
        {
            ProcessTests.Terminate(node);
            Assert.True(node.WaitForExit(TimeSpan.FromSeconds(30)), "a node did not stop on SIGTERM");
        }

        var rows = File.ReadAllLines(Path.Combine(outDir, "trials.csv")).Skip(1).ToList();
        Assert.Equal(4, rows.Count);
        Assert.Equal(4, rows.Select(r => string.Join(',', r.Split(',').Take(4))).Distinct().Count());
        Assert.All(rows, r => Assert.Contains(",completed,", r));
        Assert.Contains(rows, r => r.Contains(",node-a,cpu,"));
        Assert.Contains(rows, r => r.Contains(",node-b,cpu,"));
        Assert.Equal(4 * 2, File.ReadAllLines(Path.Combine(outDir, "epochs.csv")).Length - 1);
        foreach (var file in new[] { "grid.yaml", "report.md", "report.json", "report.csv", "journal.db", "curves/test_accuracy.png",
                     "curves/fashion-mnist_resnet18.png", "logs/run.clef", "logs/fashion-mnist/resnet18/sam/2.log" })
            Assert.True(File.Exists(Path.Combine(outDir, file)), $"missing {file}");
        var log = File.ReadAllText(Path.Combine(outDir, "logs/fashion-mnist/resnet18/sam/2.log"));
        Assert.Contains("epoch 2/2", log);
        Assert.Contains("trial finished: completed", log);
    }

    public void Dispose() => Directory.Delete(_work, recursive: true);
}

/// <summary>Helpers for tests that run samcluster processes; they run one at a time (the machine has 2 cores).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessTests
{
    public const string Name = "samcluster processes";

    /// <summary>5 classes of tiny generated images (each image one grey level), and a grid of 2-epoch ResNet-18 trials.</summary>
    public static string WriteTinyGrid(string dir, string optimizers, int repeats, int epochs = 2, string extra = "")
    {
        var data = Path.Combine(dir, "fashion");
        Directory.CreateDirectory(data);
        var train = Enumerable.Range(0, 200).Select(i => (byte)(i % 5)).ToArray();
        var test = Enumerable.Range(0, 50).Select(i => (byte)(i % 5)).ToArray();
        using (var fixture = new IdxFixture(train, test))
            foreach (var file in new[] { FashionMnist.TrainImagesFile, FashionMnist.TrainLabelsFile, FashionMnist.TestImagesFile, FashionMnist.TestLabelsFile })
                File.Copy(fixture.PathOf(file), Path.Combine(data, file));
        var grid = Path.Combine(dir, "tiny.yaml");
        File.WriteAllText(grid, $"""
            datasets: [fashion-mnist]
            models: [resnet18]
            optimizers: {optimizers}
            repeats: {repeats}
            recipe:
              epochs: {epochs}
              batch_size: 64
            data:
              fashion-mnist:
                path: {data}
                classes: [0, 1, 2, 3, 4]
            {extra}
            """);
        return grid;
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Starts this build's samcluster with its output going to the test log.</summary>
    public static Process Start(ITestOutputHelper output, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "samcluster.dll"));
        foreach (var a in args) start.ArgumentList.Add(a);
        var process = Process.Start(start)!;
        var tag = args[0];
        process.OutputDataReceived += (_, e) => { if (e.Data != null) TryLog(output, $"[{tag} {process.Id}] {e.Data}"); };
        process.ErrorDataReceived += (_, e) => { if (e.Data != null) TryLog(output, $"[{tag} {process.Id} err] {e.Data}"); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    static void TryLog(ITestOutputHelper output, string line)
    {
        try { output.WriteLine(line); } catch (InvalidOperationException) { } // the test already ended
    }

    public static void Terminate(Process process)
    {
        if (process.HasExited) return;
        using var kill = Process.Start("kill", ["-TERM", process.Id.ToString()]);
        kill.WaitForExit();
    }

    public static void KillHard(Process process)
    {
        if (process.HasExited) return;
        using var kill = Process.Start("kill", ["-KILL", process.Id.ToString()]);
        kill.WaitForExit();
    }
}
