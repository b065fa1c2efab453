using System.Diagnostics;
using System.Text.Json;
using SamCluster.Tests.BadInput;
using CliProcess = SamCluster.Tests.BadInput.Cli;
using SamCluster.Tests.Cluster;
using SamCluster.Tests.Data;
using Xunit;
using Xunit.Abstractions;

namespace SamCluster.Tests.Training;

/// <summary>train-one --checkpoint-dir as a user sees it: killed after its 2nd epoch, the same command again prints the
/// remaining epochs only, and its last line's figures are the uninterrupted run's.</summary>
[Collection(ProcessLanes.Resume)]
public sealed class TrainOneCheckpointTests(ITestOutputHelper log) : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("samcluster-trainone-").FullName;
    private readonly IdxFixture _data = new(Labels(320), Labels(40));

    public void Dispose()
    {
        _data.Dispose();
        Directory.Delete(_work, recursive: true);
    }

    private static byte[] Labels(int count) => Enumerable.Range(0, count).Select(i => (byte)(i % 5)).ToArray();

    private string[] Args(string? checkpointDir, string optimizer = "sgd")
    {
        string[] args = ["train-one", "--data", _data.Root, "--model", "resnet18", "--optimizer", optimizer, "--epochs", "4",
            "--batch-size", "32", "--lr", "0.05", "--plateau-patience", "0", "--threads", "1"];
        return checkpointDir is null ? args : [.. args, "--checkpoint-dir", checkpointDir];
    }

    private static readonly string[] MetricFields = ["epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr"];

    private static string Metrics(string line)
    {
        using var json = JsonDocument.Parse(line);
        return string.Join(",", MetricFields.Select(f => $"{f}={json.RootElement.GetProperty(f).GetRawText()}"));
    }

    private static List<string> JsonLines(string stdout) =>
        stdout.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith('{')).ToList();

    [Fact]
    public void KilledAfterItsSecondEpochItResumesAndEndsAsTheUninterruptedRun()
    {
        var whole = CliProcess.RunWithin(TimeSpan.FromMinutes(3), _work, Args(null));
        log.WriteLine(whole.ToString());
        Assert.Equal(0, whole.ExitCode);
        var wholeLines = JsonLines(whole.Stdout);
        Assert.Equal(4, wholeLines.Count);

        var checkpoints = Path.Combine(_work, "checkpoints");
        var killedLines = RunAndKillAfter(2, Args(checkpoints));
        Assert.Equal(wholeLines.Take(2).Select(Metrics), killedLines.Select(Metrics));

        var rerun = CliProcess.RunWithin(TimeSpan.FromMinutes(3), _work, Args(checkpoints));
        log.WriteLine(rerun.ToString());
        Assert.Equal(0, rerun.ExitCode);
        Assert.Contains("resumed from epoch 2", rerun.Stderr);
        var rerunLines = JsonLines(rerun.Stdout);
        Assert.Equal(["3", "4"], rerunLines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("epoch").GetRawText()));
        Assert.Equal(Metrics(wholeLines[^1]), Metrics(rerunLines[^1]));
        Assert.Equal(wholeLines.Skip(2).Select(Metrics), rerunLines.Select(Metrics));

        var left = Directory.GetFiles(checkpoints, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(checkpoints, f));
        Assert.Equal([Path.Combine("fashion-mnist", "resnet18", "sgd", "0", "attempt-1-epoch-0004.ckpt")], left);

        // The same folder with another trial's flags: refused, nothing written.
        var before = FolderSnapshot.Take(checkpoints);
        var refused = CliProcess.Run(_work, Args(checkpoints, optimizer: "sam"));
        CliProcess.AssertRefused(refused, log, $"--checkpoint-dir {checkpoints} holds a checkpoint of a different trial (Key.Optimizer: sgd in the checkpoint, sam here)");
        FolderSnapshot.AssertUnchanged(before, checkpoints);
    }

    /// <summary>Starts train-one and kills it (SIGKILL) as soon as it has printed <paramref name="lines"/> JSON lines.</summary>
    private List<string> RunAndKillAfter(int lines, string[] args)
    {
        var start = ChildProcessRuntime.Apply(new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = _work });
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "samcluster.dll"));
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var printed = new List<string>();
        try
        {
            var deadline = Stopwatch.StartNew();
            while (printed.Count < lines && deadline.Elapsed < TimeSpan.FromMinutes(3) && process.StandardOutput.ReadLine() is { } line)
                if (line.TrimStart().StartsWith('{')) printed.Add(line.Trim());
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }
        log.WriteLine($"killed after {printed.Count} lines:\n{string.Join("\n", printed)}\n--- stderr:\n{stderr.Result}");
        Assert.Equal(lines, printed.Count);
        return printed;
    }
}
