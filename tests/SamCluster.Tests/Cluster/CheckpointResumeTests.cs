using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit;
using Xunit.Abstractions;

namespace SamCluster.Tests.Cluster;

/// <summary>The issue's end-to-end check: a `local` grid of 3-epoch trials on 2 nodes; the node running a trial is
/// killed (-9) after that trial's 2nd epoch; the trial resumes on the other node from its epoch-2 checkpoint, appears
/// once in trials.csv, and ends with exactly the metrics of an uninterrupted run of the same trial (train-one, same
/// seed, same data, same thread count).</summary>
[Collection(ProcessLanes.Resume)]
public sealed class CheckpointResumeTests(ITestOutputHelper output) : IDisposable
{
    readonly string _work = Directory.CreateTempSubdirectory("samcluster-resume-").FullName;

    static bool WaitFor(Func<bool> condition, TimeSpan timeout) => ProcessTests.WaitFor(condition, timeout);

    [Fact]
    public async Task A_trial_whose_node_is_killed_resumes_elsewhere_from_its_checkpoint_with_identical_results()
    {
        // Enough images that an epoch takes seconds on one thread (an SGD one at least 1.5 s, SAM's twice that), against
        // the few milliseconds between the trial log's "epoch 2/4" (written once the epoch and its checkpoint are
        // journaled) and the kill: the log is polled every 20 ms and the signal sent from here, no `kill` process
        // started. So the kill lands between epochs 2 and 3. Two SGD trials: the second only keeps node-2 from taking
        // the first, and the victim and its reference run cost an SGD trial's CPU, not sometimes SAM's twice that (SAM
        // resumes bit for bit in ResumeTests); 3 epochs leave one to train after the resume, as 4 left two.
        var grid = ProcessTests.WriteTinyGrid(_work, optimizers: "[sgd]", repeats: 2, epochs: 3, trainImages: 600, testImages: 100);
        var outDir = Path.Combine(_work, "run");
        var lines = new ConcurrentQueue<string>();
        using var local = ProcessTests.Start(output, lines, "local", grid, "--nodes", "2", "--threads", "1", "--out", outDir);

        // The first trial started on node-1, and node-1's process id.
        string? victim = null;
        Assert.True(WaitFor(() =>
        {
            victim = lines.Select(l => Regex.Match(l, @"Started (\S+) \(attempt 1\) on w0@node-1/cpu")).FirstOrDefault(m => m.Success)?.Groups[1].Value;
            return victim != null;
        }, TimeSpan.FromMinutes(2)), "no trial started on node-1");
        var nodeLog = Path.Combine(outDir, "logs", "node-1.log");
        var pid = int.Parse(Regex.Match(ProcessTests.ReadShared(nodeLog), @"Node node-1 \(pid (\d+)\)").Groups[1].Value, CultureInfo.InvariantCulture);

        var trialLog = Path.Combine(outDir, "logs", victim + ".log");
        Assert.True(ProcessTests.WaitFor(() => ProcessTests.ReadShared(trialLog).Contains("epoch 2/3"), TimeSpan.FromMinutes(2), pollMs: 20), $"{victim} never reached epoch 2");
        Assert.DoesNotContain("epoch 3/3", ProcessTests.ReadShared(trialLog)); // else the kill is too late to test a resume from epoch 2
        ProcessTests.KillNow(pid);   // SIGKILL

        // The same trial uninterrupted, on one thread, beside the rest of the grid (it needs nothing of it).
        var parts = victim!.Split('/');
        var uninterruptedRun = Task.Run(() => TrainOneLastLine(
            "--dataset", parts[0], "--model", parts[1], "--optimizer", parts[2], "--repeat", parts[3], "--epochs", "3",
            "--batch-size", "64", "--threads", "1", "--data", Path.Combine(_work, "fashion"), "--classes", "0,1,2,3,4"));

        Assert.True(local.WaitForExit(TimeSpan.FromMinutes(5)), "the grid did not finish after the node was killed");
        local.WaitForExit();
        Assert.Equal(0, local.ExitCode);

        var log = ProcessTests.ReadShared(trialLog);
        Assert.Contains("attempt 2 started on w0@node-2/cpu", log);
        Assert.Contains("resumed from epoch 2 (checkpoint of attempt 1)", log);
        Assert.Contains("trial finished: completed", log);

        var rows = File.ReadAllLines(Path.Combine(outDir, "trials.csv"));
        var header = rows[0].Split(',');
        var byId = rows.Skip(1).Select(r => r.Split(','))
            .GroupBy(c => $"{c[0]}/{c[1]}/{c[2]}/{c[3]}").ToDictionary(g => g.Key, g => g.ToList());
        Assert.Equal(2, byId.Count);
        var row = Assert.Single(byId[victim!]);
        string Column(string name) => row[Array.IndexOf(header, name)];
        Assert.Equal("completed", Column("status"));
        Assert.Equal("node-2", Column("node"));
        Assert.Equal("2", Column("attempts"));
        Assert.Equal("3", Column("epochs"));
        // Epochs 1-2 from attempt 1, 3 from attempt 2: each once.
        var epochRows = File.ReadAllLines(Path.Combine(outDir, "epochs.csv")).Skip(1).Where(l => l.StartsWith(victim!.Replace('/', ',') + ",")).ToList();
        Assert.Equal(["1", "2", "3"], epochRows.Select(l => l.Split(',')[4]));
        Assert.True(File.Exists(Path.Combine(outDir, "weights", victim + ".pt")), "no final weights");

        var uninterrupted = await uninterruptedRun;
        foreach (var (csv, json, digits) in new[] { ("train_loss", "train_loss", 6), ("train_acc", "train_acc", 4), ("test_loss", "test_loss", 6), ("test_acc", "test_acc", 4) })
        {
            var resumed = Math.Round(double.Parse(Column(csv), CultureInfo.InvariantCulture), digits);
            var straight = uninterrupted.GetProperty(json).GetDouble();
            output.WriteLine($"{csv}: resumed {resumed} vs uninterrupted {straight}");
            Assert.Equal(straight, resumed);
        }
    }

    JsonElement TrainOneLastLine(params string[] args)
    {
        var lines = new ConcurrentQueue<string>();
        using var process = ProcessTests.Start(output, lines, ["train-one", .. args]);
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(3)), "train-one did not finish");
        process.WaitForExit();
        Assert.Equal(0, process.ExitCode);
        return JsonDocument.Parse(lines.Last(l => l.StartsWith('{'))).RootElement;
    }

    public void Dispose()
    {
        ProcessTests.KillLeftovers(output);
        Directory.Delete(_work, recursive: true);
    }
}
