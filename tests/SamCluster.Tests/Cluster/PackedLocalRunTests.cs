using SamCluster.Reporting;
using Xunit;
using Xunit.Abstractions;

namespace SamCluster.Tests.Cluster;

/// <summary>Packed repeats end to end: `local` on a tiny grid with `pack: 3` and two nodes trains its three repeats as
/// one pack; the node training it is killed (-9) after the pack's first epoch, and the other node takes every member
/// back as a pack, each resuming from its own checkpoint. Every trial ends once, and the same grid run uninterrupted with
/// `--pack 1` (solo) gives each trial a final test accuracy within 1 pp of its packed twin (equivalent, not
/// bit-identical: the fused kernels accumulate in another order).</summary>
[Collection(ProcessLanes.Services)]
public sealed class PackedLocalRunTests(ITestOutputHelper output) : IDisposable
{
    readonly string _work = Directory.CreateTempSubdirectory("samcluster-pack-").FullName;

    [Fact]
    public void A_pack_whose_node_is_killed_resumes_each_member_from_its_checkpoint_and_ends_within_1_pp_of_solo()
    {
        // The tiny grid's images carry no class (their grey level is the index's); these do: a bright stripe at the
        // class's place. Nets that learn something compare; nets at chance differ on every rounding.
        var grid = ProcessTests.WriteTinyGrid(_work, optimizers: "[sgd]", repeats: 3, epochs: 3, extra: "pack: 3", trainImages: 240, testImages: 100);
        File.WriteAllText(grid, File.ReadAllText(grid).Replace("batch_size: 64", "batch_size: 32"));
        WriteStripes(Path.Combine(_work, "fashion", SamCluster.Training.Data.FashionMnist.TrainImagesFile), 240);
        WriteStripes(Path.Combine(_work, "fashion", SamCluster.Training.Data.FashionMnist.TestImagesFile), 100);
        string[] ids = ["fashion-mnist/resnet18/sgd/1", "fashion-mnist/resnet18/sgd/2", "fashion-mnist/resnet18/sgd/3"];
        var packedDir = Path.Combine(_work, "packed");
        var soloDir = Path.Combine(_work, "solo");

        // The solo twin runs beside the packed one: it needs nothing of it, and the two share the wait.
        var soloLines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var solo = ProcessTests.Start(output, soloLines, ["local", grid, "--out", soloDir, "--nodes", "1", "--threads", "1", "--pack", "1"]);

        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var packed = ProcessTests.Start(output, lines, ["local", grid, "--out", packedDir, "--nodes", "2", "--threads", "1"]);
        string NodeLog(int n) => ProcessTests.ReadShared(Path.Combine(packedDir, "logs", $"node-{n}.log"));
        var victim = 0;
        Assert.True(ProcessTests.WaitFor(() => (victim = new[] { 1, 2 }.FirstOrDefault(n => NodeLog(n).Contains("Training a pack of 3 on cpu"))) != 0,
            TimeSpan.FromMinutes(2)), "no node started a pack of 3");
        var pid = int.Parse(System.Text.RegularExpressions.Regex.Match(NodeLog(victim), @"Node node-\d \(pid (\d+)\)").Groups[1].Value,
            System.Globalization.CultureInfo.InvariantCulture);
        string TrialLog(string id) => ProcessTests.ReadShared(Path.Combine(packedDir, "logs", id + ".log"));
        Assert.True(ProcessTests.WaitFor(() => ids.All(id => TrialLog(id).Contains("epoch 1/3")), TimeSpan.FromMinutes(2), pollMs: 20),
            "the pack never finished its first epoch");
        Assert.All(ids, id => Assert.DoesNotContain("epoch 3/3", TrialLog(id)));   // else the kill is too late to test a resume
        ProcessTests.KillNow(pid);   // SIGKILL

        static void AssertFinished(System.Diagnostics.Process local, IEnumerable<string> printed, string what)
        {
            Assert.True(local.WaitForExit(TimeSpan.FromMinutes(4)), $"the {what} grid did not finish in 4 minutes");
            local.WaitForExit();
            Assert.Equal(0, local.ExitCode);
            Assert.Contains(printed, l => l.Contains("Grid finished: 3 completed, 0 failed"));
        }
        AssertFinished(packed, lines, "packed");
        AssertFinished(solo, soloLines, "solo");

        // The other node took every member back as one pack, each from its own checkpoint; the solo run packed nothing.
        var survivor = 3 - victim;
        Assert.Contains("Training a pack of 3 on cpu", NodeLog(survivor));
        Assert.DoesNotContain("Training a pack", File.ReadAllText(Path.Combine(soloDir, "logs", "node-1.log")));
        foreach (var id in ids)
        {
            var log = TrialLog(id);
            Assert.Contains($"attempt 2 started on w0@node-{survivor}/cpu", log);
            Assert.Matches(@"resumed from epoch [12] \(checkpoint of attempt 1\)", log);
            var epochs = File.ReadAllLines(Path.Combine(packedDir, "epochs.csv")).Skip(1).Where(l => l.StartsWith(id.Replace('/', ',') + ",")).ToList();
            Assert.Equal(["1", "2", "3"], epochs.Select(l => l.Split(',')[4]));   // each epoch once, across the two attempts
        }

        var packedRows = ResultsCsv.ParseTrialsInFull(CsvTable.Read(Path.Combine(packedDir, "trials.csv")));
        var soloRows = ResultsCsv.ReadTrials(Path.Combine(soloDir, "trials.csv"));
        Assert.Equal(ids, packedRows.Select(r => r.TrialId).Order());   // every trial exactly once
        Assert.Equal(ids, soloRows.Select(r => r.TrialId).Order());
        Assert.All(packedRows, r => Assert.True(r.Completed && r.Epochs == 3 && r.Attempts == 2, $"{r.TrialId}: {r}"));
        foreach (var id in ids)
        {
            var (p, s) = (packedRows.Single(r => r.TrialId == id).TestAcc!.Value, soloRows.Single(r => r.TrialId == id).TestAcc!.Value);
            output.WriteLine($"{id}: packed {p:F2} %, solo {s:F2} %");
            Assert.True(Math.Abs(p - s) <= 1.0, $"{id}: packed test accuracy {p:F2} % vs solo {s:F2} %");
        }
        ProcessTests.AssertCleanLogs(lines, packedDir);
        ProcessTests.AssertCleanLogs(soloLines, soloDir);
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

    public void Dispose()
    {
        ProcessTests.KillLeftovers(output);
        Directory.Delete(_work, recursive: true);
    }
}
