using SamCluster.Reporting;
using Xunit;
using Xunit.Abstractions;

namespace SamCluster.Tests.Cluster;

/// <summary>Packed repeats end to end: `local` on a tiny grid with `pack: 3` trains its three repeats as one pack and
/// finishes every trial once; the same grid run with `--pack 1` (solo) gives each trial a final test accuracy within
/// 1 pp of its packed twin (equivalent, not bit-identical: the fused kernels accumulate in another order).</summary>
[Collection(ProcessLanes.Loopback)]
public sealed class PackedLocalRunTests(ITestOutputHelper output) : IDisposable
{
    readonly string _work = Directory.CreateTempSubdirectory("samcluster-pack-").FullName;

    [Fact]
    public void A_packed_grid_finishes_every_trial_once_each_within_1_pp_of_its_solo_twin()
    {
        // The tiny grid's images carry no class (their grey level is the index's); these do: a bright stripe at the
        // class's place. Nets that learn something compare; nets at chance differ on every rounding.
        var grid = ProcessTests.WriteTinyGrid(_work, optimizers: "[sgd]", repeats: 3, epochs: 2, extra: "pack: 3", trainImages: 400, testImages: 200);
        File.WriteAllText(grid, File.ReadAllText(grid).Replace("batch_size: 64", "batch_size: 32"));
        WriteStripes(Path.Combine(_work, "fashion", SamCluster.Training.Data.FashionMnist.TrainImagesFile), 400);
        WriteStripes(Path.Combine(_work, "fashion", SamCluster.Training.Data.FashionMnist.TestImagesFile), 200);
        var packedDir = Path.Combine(_work, "packed");
        var soloDir = Path.Combine(_work, "solo");

        var packed = RunLocal(grid, packedDir);
        var solo = RunLocal(grid, soloDir, "--pack", "1");

        var node = File.ReadAllText(Path.Combine(packedDir, "logs", "node-1.log"));
        Assert.Contains("Training a pack of 3 on cpu", node);
        Assert.DoesNotContain("Training a pack", File.ReadAllText(Path.Combine(soloDir, "logs", "node-1.log")));

        var packedRows = ResultsCsv.ReadTrials(Path.Combine(packedDir, "trials.csv"));
        var soloRows = ResultsCsv.ReadTrials(Path.Combine(soloDir, "trials.csv"));
        string[] ids = ["fashion-mnist/resnet18/sgd/1", "fashion-mnist/resnet18/sgd/2", "fashion-mnist/resnet18/sgd/3"];
        Assert.Equal(ids, packedRows.Select(r => r.TrialId).Order());   // every trial exactly once
        Assert.Equal(ids, soloRows.Select(r => r.TrialId).Order());
        Assert.All(packedRows, r => Assert.True(r.Completed && r.Epochs == 2, $"{r.TrialId}: {r}"));
        foreach (var id in ids)
        {
            var (p, s) = (packedRows.Single(r => r.TrialId == id).TestAcc!.Value, soloRows.Single(r => r.TrialId == id).TestAcc!.Value);
            output.WriteLine($"{id}: packed {p:F2} %, solo {s:F2} %");
            Assert.True(Math.Abs(p - s) <= 1.0, $"{id}: packed test accuracy {p:F2} % vs solo {s:F2} %");
        }
        ProcessTests.AssertCleanLogs(packed, packedDir);
        ProcessTests.AssertCleanLogs(solo, soloDir);
    }

    /// <summary>Image i is of class i % 5 (the tiny grid's labels): columns 5c..5c+4 bright, the rest dark.</summary>
    static void WriteStripes(string file, int count)
    {
        var body = new byte[count * 28 * 28];
        for (var i = 0; i < count; i++)
            for (var row = 0; row < 28; row++)
                body.AsSpan(i * 784 + row * 28 + 5 * (i % 5), 5).Fill(255);
        using var stream = new System.IO.Compression.GZipStream(File.Create(file), System.IO.Compression.CompressionLevel.Fastest);
        stream.Write(SamCluster.Tests.Data.IdxFixture.Header(SamCluster.Training.Data.IdxFile.ImagesMagic, count, 28, 28));
        stream.Write(body);
    }

    List<string> RunLocal(string grid, string outDir, params string[] more)
    {
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var local = ProcessTests.Start(output, lines, ["local", grid, "--out", outDir, "--nodes", "1", "--threads", "1", .. more]);
        Assert.True(local.WaitForExit(TimeSpan.FromMinutes(4)), "local did not finish the grid in 4 minutes");
        local.WaitForExit();
        Assert.Equal(0, local.ExitCode);
        Assert.Contains(lines, l => l.Contains("Grid finished: 3 completed, 0 failed"));
        return lines.ToList();
    }

    public void Dispose()
    {
        ProcessTests.KillLeftovers(output);
        Directory.Delete(_work, recursive: true);
    }
}
