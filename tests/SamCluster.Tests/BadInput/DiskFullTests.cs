using System.Diagnostics;
using System.Security.Cryptography;
using SamCluster.Tests.Cluster;
using Xunit;
using Xunit.Abstractions;
using SamCluster.Coordinator.Logging;

namespace SamCluster.Tests.BadInput;

/// <summary>The run folder's filesystem fills up in the middle of `local`: the run ends with one line and exit code 1,
/// what was written stays as it was, and the same command run again once there is space resumes it (finished trials
/// read back from the journal, the rest resumed from their checkpoints). The run folder is a small tmpfs, so this needs
/// root (mount); elsewhere it is reported skipped.</summary>
[Collection(ProcessTests.Name)]
public sealed class DiskFullTests(ITestOutputHelper log) : BadInputTest(log)
{
    [SkippableFact]
    public void A_full_disk_ends_the_run_with_one_line_and_the_same_command_resumes_it()
    {
        var outDir = Path.Combine(Work, "run");
        // What fills it: an SGD ResNet-18 checkpoint is ~89 MB (parameters and momentum), its weights ~45 MB. Trial 1
        // peaks at ~180 MB (a new checkpoint beside the old, then the weights in the store beside their copy in
        // weights/) and leaves ~45 MB; trial 2's second checkpoint would need ~225 MB: the node meets the full disk there.
        using var disk = Tmpfs.Mount(outDir, "200m");
        var grid = ProcessTests.WriteTinyGrid(Work, optimizers: "[sgd]", repeats: 2, epochs: 2);
        string[] command = ["local", grid, "--out", outDir, "--nodes", "1"];
        var limit = TimeSpan.FromSeconds(90);

        var full = Cli.RunWithin(limit, Work, command);
        Log.WriteLine(full.ToString());
        Cli.AssertFailed(full, Log, $"no space left on device under {outDir} (writing checkpoints/fashion-mnist/resnet18/sgd/2/",
            "on node-1", "free some space and run the same command again to resume");
        Assert.False((full.Stdout + full.Stderr).Contains("Exception"), $"an exception's name on the console\n{full}");

        // What was written before is whole: the finished trial's row, its epochs, its weights; no temporary files left.
        var trialsCsv = Path.Combine(outDir, "trials.csv");
        var rows = File.ReadAllLines(trialsCsv).Skip(1).ToList();
        Assert.Single(rows);
        Assert.StartsWith("fashion-mnist,resnet18,sgd,1,", rows[0]);
        Assert.Contains(",completed,2,", rows[0]);
        // epochs.csv grows per epoch: trial 1's two and trial 2's first, journaled before its checkpoint failed.
        Assert.Equal(3, File.ReadAllLines(Path.Combine(outDir, "epochs.csv")).Length - 1);
        var weights = Path.Combine(outDir, "weights", "fashion-mnist", "resnet18", "sgd", "1.pt");
        var weightsHash = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(weights)));
        Assert.Empty(Directory.EnumerateFiles(outDir, "*.tmp", SearchOption.AllDirectories));

        disk.Resize("400m");
        var resumed = Cli.RunWithin(limit, Work, command);
        Log.WriteLine(resumed.ToString());
        Assert.True(resumed.ExitCode == 0, $"the same command did not finish the run\n{resumed}");
        Assert.False((resumed.Stdout + resumed.Stderr).Contains("   at "), $"stack frames in the output\n{resumed}");
        Assert.Contains("Recovered from the journal: 1 of 2 trials already finished", resumed.Stdout);

        // Trial 1 was read back, not trained again; trial 2 went on from its checkpoint of epoch 1.
        var after = File.ReadAllLines(trialsCsv).Skip(1).ToList();
        Assert.Equal(2, after.Count);
        Assert.Equal(rows[0], after[0]);
        Assert.Contains(",completed,2,", after[1]);
        Assert.Equal(weightsHash, Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(weights))));
        var trial1 = File.ReadAllText(Path.Combine(outDir, "logs", "fashion-mnist", "resnet18", "sgd", "1.log"));
        Assert.DoesNotContain("attempt 2", trial1);
        var trial2 = File.ReadAllText(Path.Combine(outDir, "logs", "fashion-mnist", "resnet18", "sgd", "2.log"));
        Assert.Contains("attempt 1 released: no space left on device", trial2);
        Assert.Contains("resumed from epoch 1", trial2);
        Assert.True(File.Exists(Path.Combine(outDir, "weights", "fashion-mnist", "resnet18", "sgd", "2.pt")));
        Assert.True(File.Exists(Path.Combine(outDir, "report.md")));
    }

    /// <summary>Serilog's file sinks swallow their write errors; the run log still sees a full disk and says which file.</summary>
    [SkippableFact]
    public void The_run_log_reports_a_full_disk_its_sinks_would_swallow()
    {
        var outDir = Path.Combine(Work, "run");
        using var disk = Tmpfs.Mount(outDir, "64k");
        var grid = WriteFile("grid.yaml", ValidGrid(Work));
        using var folder = RunStore.RunFolder.Prepare(outDir, grid, Experiment.Grid.GridExpander.Expand(Experiment.Grid.GridConfigLoader.Load(grid)));
        var reported = new System.Collections.Concurrent.ConcurrentQueue<Messages.DiskFullException>();
        using (var runLog = new Coordinator.Logging.RunLog(folder, console: false, onDiskFull: reported.Enqueue))
        {
            var line = new string('x', 1000);
            for (var i = 0; i < 200 && reported.IsEmpty; i++) runLog.Main.Information("{Line}", line);
            Assert.False(runLog.RecordFailure(new InvalidOperationException("a bug"), "a bug"), "a trace was taken as written to a full disk");
        }
        Assert.False(reported.IsEmpty, "64 KiB filled without the run log noticing");
        Assert.Equal(folder.EventLog, reported.First().Path);
        Assert.Equal($"no space left on device under {outDir} (writing logs/run.clef)", reported.First().Describe(outDir));
    }
}

/// <summary>A tmpfs of a given size mounted on a folder for one test; unmounted on Dispose whatever happened. Skips the
/// test where mounting is not allowed (not root, no mount(8), not Linux).</summary>
sealed class Tmpfs : IDisposable
{
    public string Folder { get; }

    Tmpfs(string folder) => Folder = folder;

    public static Tmpfs Mount(string folder, string size)
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "tmpfs is Linux's");
        Directory.CreateDirectory(folder);
        var (code, output) = Run("mount", "-t", "tmpfs", "-o", $"size={size}", "tmpfs", folder);
        Skip.If(code != 0, $"cannot mount a tmpfs here (needs root): {output.Trim()}");
        return new Tmpfs(folder);
    }

    public void Resize(string size)
    {
        var (code, output) = Run("mount", "-o", $"remount,size={size}", Folder);
        Assert.True(code == 0, $"remount failed: {output}");
    }

    public void Dispose()
    {
        // Processes still holding files in it would make a plain umount fail: detach it then (lazy).
        if (Run("umount", Folder).Code != 0) Run("umount", "-l", Folder);
    }

    static (int Code, string Output) Run(string program, params string[] args)
    {
        try
        {
            var start = ChildProcessRuntime.Apply(new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false });
            foreach (var a in args) start.ArgumentList.Add(a);
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, output.Result + error);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, e.Message); // no such program
        }
    }
}
