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
        // The disk must fill at trial 2's second checkpoint, which is written beside its first, whatever a checkpoint
        // and the run's other files weigh on this machine (a fixed size filled at trial 1's weights elsewhere). So trial
        // 1 runs first, alone, on a roomy disk; the grid then grows by trial 2 and the disk is cut to what trial 1 left
        // plus one and a half checkpoints (measured as train-one writes one): trial 2's first checkpoint fits, its
        // second cannot, by half a checkpoint either way.
        using var disk = Tmpfs.Mount(outDir, Roomy);
        var grid = ProcessTests.WriteTinyGrid(Work, optimizers: "[sgd]", repeats: 1, epochs: 2);
        string[] command = ["local", grid, "--out", outDir, "--nodes", "1"];
        var limit = TimeSpan.FromSeconds(90);
        var trialOne = Cli.RunWithin(limit, Work, command);
        Assert.True(trialOne.ExitCode == 0, $"trial 1 alone did not finish\n{trialOne}");
        var leftByTrial1 = disk.UsedBytes;
        var checkpoint = CheckpointBytes(limit);
        var size = leftByTrial1 + checkpoint * 3 / 2;
        Log.WriteLine($"trial 1 left {leftByTrial1} bytes, a checkpoint is {checkpoint} bytes: the disk is made {size} bytes");
        disk.Resize(size.ToString(System.Globalization.CultureInfo.InvariantCulture));
        File.WriteAllText(grid, File.ReadAllText(grid).Replace("repeats: 1", "repeats: 2"));

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

        disk.Resize(Roomy);
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

    const string Roomy = "1g";   // a cap, not an allocation: tmpfs takes memory only for what is written

    /// <summary>The size of an SGD checkpoint of the tiny grid's trial, as train-one writes it into a folder of its own
    /// (the same code the node saves with, from the same data).</summary>
    long CheckpointBytes(TimeSpan limit)
    {
        var folder = Path.Combine(Work, "measured-checkpoint");
        var run = Cli.RunWithin(limit, Work, "train-one", "--dataset", "fashion-mnist", "--model", "resnet18", "--optimizer", "sgd",
            "--epochs", "2", "--batch-size", "64", "--data", Path.Combine(Work, "fashion"), "--classes", "0,1,2,3,4", "--threads", "1",
            "--checkpoint-dir", folder);
        Assert.True(run.ExitCode == 0, $"train-one did not finish\n{run}");
        return new FileInfo(Assert.Single(Directory.GetFiles(folder, "*.ckpt", SearchOption.AllDirectories))).Length;
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

    /// <summary>What the files in it take, as the filesystem counts it (whole pages).</summary>
    public long UsedBytes
    {
        get
        {
            var drive = new DriveInfo(Folder);
            return drive.TotalSize - drive.TotalFreeSpace;
        }
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
