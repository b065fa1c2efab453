using System.Text.RegularExpressions;
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
[Collection(ProcessLanes.PartitionsAndLoopback)]
public sealed class LoopbackClusterTests(ITestOutputHelper output) : IDisposable
{
    readonly string _work = Directory.CreateTempSubdirectory("samcluster-loopback-").FullName;

    [Fact]
    public async Task Coordinator_and_two_nodes_run_a_tiny_grid_to_the_end()
    {
        var grid = ProcessTests.WriteTinyGrid(_work, optimizers: "[sgd, sam]", repeats: 2);
        var outDir = Path.Combine(_work, "run");
        var port = ProcessTests.FreePort();
        var httpPort = ProcessTests.FreePort();

        var printed = new System.Collections.Concurrent.ConcurrentQueue<string>();   // every process's console
        using var coordinator = ProcessTests.StartCoordinator(output, printed, "coordinator", grid, "--out", outDir, "--port", port.ToString(), "--http", httpPort.ToString());
        using var node1 = ProcessTests.Start(output, printed, "node", "--coordinator", $"127.0.0.1:{port}", "--devices", "cpu", "--threads", "1", "--name", "node-a");
        using var node2 = ProcessTests.Start(output, printed, "node", "--coordinator", $"127.0.0.1:{port}", "--devices", "cpu", "--threads", "1", "--name", "node-b");

        // epochs.csv grows per epoch: it has rows while trials.csv has none (no trial finished yet).
        var epochsCsv = Path.Combine(outDir, "epochs.csv");
        var trialsCsv = Path.Combine(outDir, "trials.csv");
        static int Rows(string path) { try { return File.Exists(path) ? File.ReadAllLines(path).Length - 1 : 0; } catch (IOException) { return 0; } }
        var seenBeforeAnyFinished = false;
        ProcessTests.WaitFor(() =>
        {
            if (Rows(trialsCsv) > 0) return true;                 // too late: a trial finished first
            return seenBeforeAnyFinished = Rows(epochsCsv) > 0;   // read after trials.csv had no row
        }, TimeSpan.FromMinutes(3));
        // The live page's API, while the grid runs: every trial listed, the report not yet there.
        using (var http = new System.Net.Http.HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}/"), Timeout = TimeSpan.FromSeconds(10) })
        {
            using var trials = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync("api/trials"));
            Assert.Equal(4, trials.RootElement.EnumerateArray().Select(t => t.GetProperty("id").GetString()).Distinct().Count());
            Assert.Contains(trials.RootElement.EnumerateArray(), t => t.GetProperty("status").GetString() == "running");
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("")).StatusCode);
            if (Rows(trialsCsv) < 4) Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("api/report")).StatusCode);
        }
        Assert.True(coordinator.WaitForExit(TimeSpan.FromMinutes(4)), "coordinator did not finish the grid in 4 minutes");
        Assert.Equal(0, coordinator.ExitCode);
        Assert.True(seenBeforeAnyFinished, "epochs.csv had no row before the first trial finished");
        // Nodes stop cleanly on SIGTERM (what systemd and `local` send).
        ProcessTests.Terminate(node1);
        ProcessTests.Terminate(node2);
        foreach (var node in new[] { node1, node2 })
            Assert.True(node.WaitForExit(TimeSpan.FromSeconds(30)), "a node did not stop on SIGTERM");

        var rows = File.ReadAllLines(Path.Combine(outDir, "trials.csv")).Skip(1).ToList();
        Assert.Equal(4, rows.Count);
        Assert.Equal(4, rows.Select(r => string.Join(',', r.Split(',').Take(4))).Distinct().Count());
        Assert.All(rows, r => Assert.Contains(",completed,", r));
        Assert.All(rows, r => Assert.Matches(",node-[ab],cpu,", r)); // which node ran what is up to work pulling
        Assert.Equal(4 * 2, File.ReadAllLines(Path.Combine(outDir, "epochs.csv")).Length - 1);
        foreach (var file in new[] { "grid.yaml", "report.md", "report.json", "report.csv", "journal.db", "curves/test_accuracy.png",
                     "curves/fashion-mnist_resnet18.png", "logs/run.clef", "logs/fashion-mnist/resnet18/sam/2.log" })
            Assert.True(File.Exists(Path.Combine(outDir, file)), $"missing {file}");
        foreach (var row in rows)   // one TensorBoard event file per trial
        {
            var id = string.Join('/', row.Split(',').Take(4));
            Assert.Single(Directory.GetFiles(Path.Combine(outDir, "tensorboard", id), "events.out.tfevents.*"));
        }
        var log = File.ReadAllText(Path.Combine(outDir, "logs/fashion-mnist/resnet18/sam/2.log"));
        Assert.Contains("epoch 2/2", log);
        // The manifest names the program and every node that ran a trial, as the nodes described themselves.
        using (var manifest = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "run.json"))))
        {
            var run = manifest.RootElement;
            Assert.Equal("0.107.0", run.GetProperty("torchsharp").GetString());
            Assert.Contains("coordinator", run.GetProperty("command_line").EnumerateArray().Select(a => a.GetString()));
            var nodes = run.GetProperty("nodes").EnumerateArray().ToList();
            Assert.Equal(rows.Select(r => Regex.Match(r, ",(node-[ab]),cpu,").Groups[1].Value).Distinct().Order(), nodes.Select(n => n.GetProperty("name").GetString()).Order());
            Assert.All(nodes, n => Assert.Equal(1, n.GetProperty("threads").GetInt32()));
            Assert.All(nodes, n => Assert.Equal(Environment.ProcessorCount, n.GetProperty("cores").GetInt32()));
            Assert.All(nodes, n => Assert.Equal(["cpu"], n.GetProperty("devices").EnumerateArray().Select(d => d.GetString())));
        }
        Assert.Contains("## Provenance", File.ReadAllText(Path.Combine(outDir, "report.md")));
        Assert.Contains("trial finished: completed", log);
        ProcessTests.AssertCleanLogs(printed, outDir);
    }

    [Fact]
    public async Task A_tls_cluster_runs_its_grid_and_a_node_without_tls_cannot_join()
    {
        var grid = ProcessTests.WriteTinyGrid(_work, optimizers: "[sgd, sam]", repeats: 1, epochs: 1);
        var certificate = Deploy.RemotingTlsTests.WriteSelfSignedPfx(_work, "cluster.pfx", "secret");
        string[] tls = ["--tls-cert", certificate, "--tls-password", "secret", "--tls-no-verify"];
        var outDir = Path.Combine(_work, "run");
        var port = ProcessTests.FreePort();
        var printed = new System.Collections.Concurrent.ConcurrentQueue<string>();

        using var coordinator = ProcessTests.StartCoordinator(output, printed, ["coordinator", grid, "--out", outDir, "--port", port.ToString(), .. tls]);
        // Plain TCP to a TLS coordinator: no handshake, so no answer, so the node gives up with its one line. It tries
        // while the grid runs: the TLS node starts once the coordinator has turned the plaintext one away.
        var plainRun = Task.Run(() => BadInput.Cli.RunWithin(TimeSpan.FromSeconds(90), _work, "node", "--coordinator", $"127.0.0.1:{port}", "--join-timeout", "25",
            "--devices", "cpu", "--threads", "1", "--name", "plain"));
        Assert.True(ProcessTests.WaitFor(() => printed.Any(l => l.Contains("[WRN]") && l.Contains("TLS handshake")), TimeSpan.FromMinutes(1)),
            "the plaintext node never reached the TLS coordinator");
        using var node = ProcessTests.Start(output, printed, ["node", "--coordinator", $"127.0.0.1:{port}", "--devices", "cpu", "--threads", "1", "--name", "node-tls", .. tls]);
        Assert.True(coordinator.WaitForExit(TimeSpan.FromMinutes(4)), "the TLS coordinator did not finish the grid in 4 minutes");
        coordinator.WaitForExit();
        ProcessTests.Terminate(node);
        var plain = await plainRun;

        Assert.Equal(2, plain.ExitCode);
        Assert.Contains("cannot reach the coordinator", plain.Stderr);
        Assert.Equal(0, coordinator.ExitCode);
        Assert.Contains(printed, l => l.Contains($"Coordinator up at akka.ssl.tcp://samcluster@127.0.0.1:{port}"));
        var rows = File.ReadAllLines(Path.Combine(outDir, "trials.csv")).Skip(1).ToList();
        Assert.Equal(2, rows.Count);
        Assert.All(rows, r => Assert.Contains(",completed,", r));
        Assert.All(rows, r => Assert.Contains(",node-tls,cpu,", r));
        Assert.DoesNotContain(printed, l => l.Contains("secret"));   // the password is in no line printed or logged
        foreach (var written in new[] { "run.json", "logs/run.clef" })   // run.json records the command line, masked
            Assert.DoesNotContain("secret", File.ReadAllText(Path.Combine(outDir, written)));
        // The plaintext node's attempts are foreign traffic to the coordinator: warnings, no error.
        Assert.Contains(printed, l => l.Contains("[WRN]") && l.Contains("TLS handshake"));
        Assert.DoesNotContain(printed, l => l.Contains("[ERR]") || l.Contains("[FTL]"));
        Assert.DoesNotContain(File.ReadLines(Path.Combine(outDir, "logs", "run.clef")), l => l.Contains("\"@l\":\"Error\"") || l.Contains("\"@l\":\"Fatal\""));
    }

    [Fact]
    public void A_grid_whose_every_trial_fails_exits_1_with_one_line_naming_the_first_reason()
    {
        // The data is where the nodes would read it but not on the coordinator's host (deleted here, so for both): the
        // coordinator says it leaves the check to the nodes, each trial fails on them, and the run is a failure.
        var grid = ProcessTests.WriteTinyGrid(_work, optimizers: "[sgd, sam]", repeats: 1);
        Directory.Delete(Path.Combine(_work, "fashion"), recursive: true);
        var outDir = Path.Combine(_work, "run");
        var port = ProcessTests.FreePort();
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();

        using var coordinator = ProcessTests.StartCoordinator(output, lines, "coordinator", grid, "--out", outDir, "--port", port.ToString(), "--retries", "0");
        using var node = ProcessTests.Start(output, "node", "--coordinator", $"127.0.0.1:{port}", "--devices", "cpu", "--threads", "1");
        Assert.True(coordinator.WaitForExit(TimeSpan.FromMinutes(3)), "the coordinator did not end the failed grid");
        coordinator.WaitForExit();
        ProcessTests.Terminate(node);

        Assert.Equal(1, coordinator.ExitCode);
        Assert.Contains(lines, l => l.Contains("is not on this host: each node reads and checks it before training"));
        var verdict = Assert.Single(lines, l => l.StartsWith("samcluster: every trial failed", StringComparison.Ordinal));
        Assert.Contains("every trial failed (2); first: fashion-mnist/resnet18/sam/1: ", verdict);
        Assert.Contains("fashion-mnist folder not found", verdict);
        Assert.DoesNotContain(lines, l => l.Contains("   at "));
        var rows = File.ReadAllLines(Path.Combine(outDir, "trials.csv")).Skip(1).ToList();
        Assert.Equal(2, rows.Count);
        Assert.All(rows, r => Assert.Contains(",failed,", r));
    }

    [Fact]
    public void A_run_grown_from_2_to_3_repeats_trains_only_the_new_trials_and_reports_n_3()
    {
        var grid = ProcessTests.WriteTinyGrid(_work, optimizers: "[sgd, sam]", repeats: 2, epochs: 1);
        var outDir = Path.Combine(_work, "run");
        var first = RunLocal(grid, outDir);
        Assert.Equal(0, first.ExitCode);
        var before = File.ReadAllLines(Path.Combine(outDir, "trials.csv")).Skip(1).ToList();
        Assert.Equal(4, before.Count);

        File.WriteAllText(grid, File.ReadAllText(grid).Replace("repeats: 2", "repeats: 3"));
        var grown = RunLocal(grid, outDir);
        Assert.Equal(0, grown.ExitCode);
        Assert.Contains(grown.Lines, l => l.Contains("The run grows: 2 trials added to the 4 it had"));
        Assert.Contains(grown.Lines, l => l.Contains("Grid finished: 6 completed, 0 failed (4 read back from the journal)"));
        Assert.Contains(grown.Lines, l => l.Contains("Live view: http://127.0.0.1:"));   // --http 0: a free port, printed
        var after = File.ReadAllLines(Path.Combine(outDir, "trials.csv")).Skip(1).ToList();
        Assert.Equal(6, after.Count);
        Assert.All(before, row => Assert.Contains(row, after));   // the first four are the same rows, not retrained
        Assert.True(File.Exists(Path.Combine(outDir, "grid.previous-1.yaml")), "the grid the run ran until now is kept");
        Assert.Contains(grown.Lines, l => l.Contains("(the grid it ran until now is kept as grid.previous-1.yaml)"));   // its name, not "-N"
        using var report = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "report.json")));
        Assert.Equal((3, 3), (report.RootElement[0].GetProperty("sgd").GetProperty("n").GetInt32(), report.RootElement[0].GetProperty("sam").GetProperty("n").GetInt32()));
        Assert.True(report.RootElement[0].TryGetProperty("n_for_power80", out _));
        // What `local` prints and logs (logs/node-1.log among them) on both runs.
        ProcessTests.AssertCleanLogs(first.Lines.Concat(grown.Lines), outDir);
    }

    (int ExitCode, List<string> Lines) RunLocal(string grid, string outDir)
    {
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var local = ProcessTests.Start(output, lines, "local", grid, "--out", outDir, "--nodes", "1", "--threads", "1", "--http", "0");
        Assert.True(local.WaitForExit(TimeSpan.FromMinutes(4)), "local did not finish the grid in 4 minutes");
        local.WaitForExit();
        return (local.ExitCode, lines.ToList());
    }

    public void Dispose()
    {
        ProcessTests.KillLeftovers(output);
        Directory.Delete(_work, recursive: true);
    }
}

/// <summary>Helpers for tests that run samcluster processes. <see cref="Name"/> is the collection of the bad-input
/// catalogue's process tests, which run one at a time after every other test; the cluster tests run in
/// <see cref="ProcessLanes"/>.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessTests
{
    public const string Name = "samcluster processes";

    /// <summary>5 classes of tiny generated images (each image one grey level), and a grid of 2-epoch ResNet-18 trials.</summary>
    public static string WriteTinyGrid(string dir, string optimizers, int repeats, int epochs = 2, string extra = "",
        int trainImages = 200, int testImages = 50)
    {
        var data = Path.Combine(dir, "fashion");
        Directory.CreateDirectory(data);
        var train = Enumerable.Range(0, trainImages).Select(i => (byte)(i % 5)).ToArray();
        var test = Enumerable.Range(0, testImages).Select(i => (byte)(i % 5)).ToArray();
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

    /// <summary>
    /// A successful run's logs are clean: no error, no exception, no stack frame, none of the .NET host's start-up lines
    /// in what the processes printed nor in any text log of the run folder (node logs, trial logs); in logs/run.clef no
    /// error event, none of those host lines, and no trace on an event above Debug (Akka's expected events keep theirs
    /// there at Debug, to diagnose with).
    /// </summary>
    public static void AssertCleanLogs(IEnumerable<string> printed, string runDir)
    {
        string[] hostLines = ["Hosting environment", "Content root path", "Application started"];
        static bool StackFrame(string line) => System.Text.RegularExpressions.Regex.IsMatch(line, @"^\s+at ");
        var texts = new List<(string Where, string Line)>(printed.Select(l => ("console", l)));
        foreach (var file in Directory.EnumerateFiles(Path.Combine(runDir, "logs"), "*.log", SearchOption.AllDirectories))
            texts.AddRange(File.ReadAllLines(file).Select(l => (Path.GetRelativePath(runDir, file), l)));
        var unclean = texts.Where(t => t.Line.Contains("[ERR]") || t.Line.Contains("[FTL]") || t.Line.Contains("Exception")
                                       || StackFrame(t.Line) || hostLines.Any(h => t.Line.Contains(h)))
            .Select(t => $"{t.Where}: {t.Line}").ToList();
        foreach (var line in File.ReadLines(Path.Combine(runDir, "logs", "run.clef")))
        {
            using var json = System.Text.Json.JsonDocument.Parse(line);
            var e = json.RootElement;
            var level = e.TryGetProperty("@l", out var l) ? l.GetString()! : "Information";
            var template = e.TryGetProperty("@mt", out var mt) ? mt.GetString()! : "";
            if (level is "Error" or "Fatal" || hostLines.Any(h => template.Contains(h))
                || (level is not ("Debug" or "Verbose") && e.TryGetProperty("@x", out _)))
                unclean.Add($"run.clef: {line}");
        }
        Assert.True(unclean.Count == 0, $"{unclean.Count} unclean log lines:\n{string.Join('\n', unclean.Take(20))}");
    }

    /// <summary>A file another process is still writing (a run's logs), read whole; "" while it cannot be opened.</summary>
    public static string ReadShared(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            return new StreamReader(stream).ReadToEnd();
        }
        catch (IOException) { return ""; }
    }

    /// <summary>Polls <paramref name="condition"/> every <paramref name="pollMs"/> ms until it holds or
    /// <paramref name="timeout"/> passes.</summary>
    public static bool WaitFor(Func<bool> condition, TimeSpan timeout, int pollMs = 100)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (condition()) return true;
            Thread.Sleep(pollMs);
        }
        return false;
    }

    /// <summary>The line a coordinator prints once its remoting port listens.</summary>
    public const string CoordinatorUp = "Coordinator up at";

    /// <summary>
    /// Starts a coordinator (<paramref name="args"/> begin with "coordinator") and returns once it says it is up, as
    /// `local` starts its nodes: a node started earlier finds no one listening and tries again only after Akka's
    /// seed-node timeout, about 10 s later, which every such test would wait out.
    /// </summary>
    public static Process StartCoordinator(ITestOutputHelper output, System.Collections.Concurrent.ConcurrentQueue<string>? sink, params string[] args)
    {
        sink ??= new();
        var process = Start(output, sink, args);
        Assert.True(WaitFor(() => process.HasExited || sink.Any(l => l.Contains(CoordinatorUp)), TimeSpan.FromMinutes(2)),
            "the coordinator did not come up within 2 minutes");
        if (process.HasExited) Assert.Fail($"the coordinator exited ({process.ExitCode}) before it came up");
        return process;
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Starts this build's samcluster with its output going to the test log.</summary>
    public static Process Start(ITestOutputHelper output, params string[] args) => Start(output, sink: null, args);

    /// <summary>As above, also collecting every line of output (stdout and stderr) into <paramref name="sink"/>.</summary>
    public static Process Start(ITestOutputHelper output, System.Collections.Concurrent.ConcurrentQueue<string>? sink, params string[] args) =>
        StartWrapped(output, sink, [], args);

    /// <summary>As above, run through <paramref name="wrapper"/> (e.g. <c>ip netns exec NS</c>), which must exec it.</summary>
    public static Process StartWrapped(ITestOutputHelper output, System.Collections.Concurrent.ConcurrentQueue<string>? sink, string[] wrapper,
        params string[] args)
    {
        string[] command = [.. wrapper, "dotnet", Path.Combine(AppContext.BaseDirectory, "samcluster.dll"), .. args];
        var start = ChildProcessRuntime.Apply(new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false });
        foreach (var a in command.Skip(1)) start.ArgumentList.Add(a);
        var process = Process.Start(start)!;
        Started.GetValue(output, _ => new()).Add(process);
        var tag = args[0];
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data == null) return;
            sink?.Enqueue(e.Data);
            TryLog(output, $"[{tag} {process.Id}] {e.Data}");
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data == null) return;
            sink?.Enqueue(e.Data);
            TryLog(output, $"[{tag} {process.Id} err] {e.Data}");
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    static void TryLog(ITestOutputHelper output, string line)
    {
        try { output.WriteLine(line); } catch (InvalidOperationException) { } // the test already ended
    }

    /// <summary>The processes each test started, by the test's own output helper (one per test): tests in other
    /// collections run at the same time, and a test's clean-up must not kill their processes.</summary>
    static readonly System.Runtime.CompilerServices.ConditionalWeakTable<ITestOutputHelper, System.Collections.Concurrent.ConcurrentBag<Process>> Started = new();

    /// <summary>Kills whatever the test writing to <paramref name="output"/> started and left running (a failed assertion
    /// skips its clean-up); other tests' processes are left alone.</summary>
    public static void KillLeftovers(ITestOutputHelper output)
    {
        if (!Started.TryGetValue(output, out var started)) return;
        foreach (var process in started)
        {
            try
            {
                if (!process.HasExited) process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException) { } // disposed or never started
        }
    }

    /// <summary>A process sent SIGTERM ended as every command must: cleanly (exit 0), or — when its clean stop took
    /// longer than the 4.5 s a command is given, as on a loaded machine — with its one line and exit 1.</summary>
    public static void AssertStoppedBySigterm(Process process, IEnumerable<string> printed)
    {
        process.WaitForExit();
        if (process.ExitCode != 0)
            Assert.True(process.ExitCode == 1 && printed.Any(l => l.Contains("stopped by SIGTERM (and a clean stop took longer than")),
                $"exit {process.ExitCode} after SIGTERM without the hard-stop line");
    }

    public static void Terminate(Process process)
    {
        if (process.HasExited) return;
        using var kill = Process.Start("kill", ["-TERM", process.Id.ToString()]);
        kill.WaitForExit();
    }

    /// <summary>SIGKILL to <paramref name="pid"/> from this process (no `kill` process started: the tests that aim a kill
    /// between two epochs need it to land within milliseconds of their poll).</summary>
    public static void KillNow(int pid) => Assert.Equal(0, kill(pid, 9));

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    static extern int kill(int pid, int signal);

    public static void KillHard(Process process)
    {
        if (process.HasExited) return;
        using var kill = Process.Start("kill", ["-KILL", process.Id.ToString()]);
        kill.WaitForExit();
    }
}

/// <summary>kill -9 in the middle of a grid: of a node (its trial runs elsewhere) and of the coordinator (restarted with
/// the same command, it reads finished trials back from the journal and the nodes rejoin by themselves).</summary>
[Collection(ProcessLanes.Faults)]
public sealed class FaultToleranceTests(ITestOutputHelper output) : IDisposable
{
    readonly string _work = Directory.CreateTempSubdirectory("samcluster-faults-").FullName;

    static bool WaitFor(Func<bool> condition, TimeSpan timeout) => ProcessTests.WaitFor(condition, timeout);

    internal static int FinishedRows(string outDir)
    {
        var csv = Path.Combine(outDir, "trials.csv");
        try { return File.Exists(csv) ? File.ReadAllLines(csv).Skip(1).Count(l => l.Length > 0) : 0; }
        catch (IOException) { return 0; }
    }

    internal static void AssertEachTrialOnce(string outDir, int expected)
    {
        var rows = File.ReadAllLines(Path.Combine(outDir, "trials.csv")).Skip(1).ToList();
        Assert.Equal(expected, rows.Count);
        Assert.Equal(expected, rows.Select(r => string.Join(',', r.Split(',').Take(4))).Distinct().Count());
        Assert.All(rows, r => Assert.Contains(",completed,", r));
        Assert.True(File.Exists(Path.Combine(outDir, "report.md")));
    }

    [Fact]
    public void A_node_killed_mid_trial_loses_nothing()
    {
        // 2 trials: the doomed node's, killed 2 s after the survivor starts, and one the survivor trains meanwhile.
        var grid = ProcessTests.WriteTinyGrid(_work, optimizers: "[sgd, sam]", repeats: 1, epochs: 3);
        var outDir = Path.Combine(_work, "run");
        var port = ProcessTests.FreePort();
        using var coordinator = ProcessTests.StartCoordinator(output, null, "coordinator", grid, "--out", outDir, "--port", port.ToString());
        using var doomed = ProcessTests.Start(output, "node", "--coordinator", $"127.0.0.1:{port}", "--devices", "cpu", "--threads", "1", "--name", "doomed");
        var trialLogs = Path.Combine(outDir, "logs", "fashion-mnist");
        Assert.True(WaitFor(() => Directory.Exists(trialLogs) && Directory.EnumerateFiles(trialLogs, "*.log", SearchOption.AllDirectories)
            .Any(f => File.ReadAllText(f).Contains("started on w0@doomed")), TimeSpan.FromMinutes(2)), "no trial started on the doomed node");
        using var survivor = ProcessTests.Start(output, "node", "--coordinator", $"127.0.0.1:{port}", "--devices", "cpu", "--threads", "1", "--name", "survivor");
        Thread.Sleep(2000);
        ProcessTests.KillHard(doomed);

        Assert.True(coordinator.WaitForExit(TimeSpan.FromMinutes(4)), "grid not finished after the node was killed");
        Assert.Equal(0, coordinator.ExitCode);
        ProcessTests.Terminate(survivor);
        Assert.True(survivor.WaitForExit(TimeSpan.FromSeconds(30)));
        AssertEachTrialOnce(outDir, 2);
        var events = File.ReadAllText(Path.Combine(outDir, "logs", "run.clef"));
        Assert.Contains("back in the queue", events);
    }

    [Fact]
    public void A_node_stopped_with_SIGTERM_leaves_cleanly_and_hands_its_trial_back()
    {
        var grid = ProcessTests.WriteTinyGrid(_work, optimizers: "[sgd, sam]", repeats: 1, epochs: 4);
        var outDir = Path.Combine(_work, "run");
        var port = ProcessTests.FreePort();
        var coordinatorOutput = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var coordinator = ProcessTests.StartCoordinator(output, coordinatorOutput, "coordinator", grid, "--out", outDir, "--port", port.ToString());
        var leavingOutput = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var leaving = ProcessTests.Start(output, leavingOutput, "node", "--coordinator", $"127.0.0.1:{port}", "--devices", "cpu", "--threads", "1", "--name", "leaving");
        Assert.True(WaitFor(() => coordinatorOutput.Any(l => l.Contains("on w0@leaving/cpu")), TimeSpan.FromMinutes(2)), "no trial started on the node");
        ProcessTests.Terminate(leaving);
        Assert.True(leaving.WaitForExit(TimeSpan.FromSeconds(30)), "the node did not stop on SIGTERM");
        // By then the worker has handed its trial back, which is what this test is about.
        ProcessTests.AssertStoppedBySigterm(leaving, leavingOutput);
        // Handed back at once (its worker stopped), not after failure detection.
        Assert.True(WaitFor(() => coordinatorOutput.Any(l => l.Contains("back in the queue: worker w0@leaving/cpu lost")), TimeSpan.FromSeconds(10)),
            "the trial was not handed back");

        using var stayer = ProcessTests.Start(output, "node", "--coordinator", $"127.0.0.1:{port}", "--devices", "cpu", "--threads", "1", "--name", "stayer");
        Assert.True(coordinator.WaitForExit(TimeSpan.FromMinutes(4)), "grid not finished");
        Assert.Equal(0, coordinator.ExitCode);
        ProcessTests.Terminate(stayer);
        Assert.True(stayer.WaitForExit(TimeSpan.FromSeconds(30)));
        AssertEachTrialOnce(outDir, 2);
        Assert.All(File.ReadAllLines(Path.Combine(outDir, "trials.csv")).Skip(1), r => Assert.Contains(",stayer,cpu,", r));
    }

    [Fact]
    public void A_restarted_coordinator_resumes_from_the_journal_and_nodes_rejoin()
    {
        // 4 trials on 2 nodes: once 2 are finished the other 2 are under way, and the restart has both kinds to handle.
        var grid = ProcessTests.WriteTinyGrid(_work, optimizers: "[sgd, sam]", repeats: 2, epochs: 2);
        var outDir = Path.Combine(_work, "run");
        var port = ProcessTests.FreePort();
        string[] coordinatorArgs = ["coordinator", grid, "--out", outDir, "--port", port.ToString()];
        var first = ProcessTests.StartCoordinator(output, null, coordinatorArgs);
        using var node1 = ProcessTests.Start(output, "node", "--coordinator", $"127.0.0.1:{port}", "--devices", "cpu", "--threads", "1", "--name", "node-a");
        using var node2 = ProcessTests.Start(output, "node", "--coordinator", $"127.0.0.1:{port}", "--devices", "cpu", "--threads", "1", "--name", "node-b");
        Assert.True(WaitFor(() => FinishedRows(outDir) >= 2, TimeSpan.FromMinutes(3)), "no trial finished before the kill");
        ProcessTests.KillHard(first);
        first.WaitForExit();
        first.Dispose();
        var finishedBefore = FinishedRows(outDir);

        var secondOutput = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var second = ProcessTests.Start(output, secondOutput, coordinatorArgs);
        Assert.True(second.WaitForExit(TimeSpan.FromMinutes(4)), "restarted coordinator did not finish the grid");
        Assert.Equal(0, second.ExitCode);
        ProcessTests.Terminate(node1);
        ProcessTests.Terminate(node2);
        foreach (var node in new[] { node1, node2 })
            Assert.True(node.WaitForExit(TimeSpan.FromSeconds(30)));
        AssertEachTrialOnce(outDir, 4);
        // The journal may hold one more than trials.csv did (killed between persisting and rewriting the table).
        var recovered = secondOutput.Select(l => System.Text.RegularExpressions.Regex.Match(l, @"Recovered from the journal: (\d+) of 4 trials"))
            .Where(m => m.Success).Select(m => int.Parse(m.Groups[1].Value)).ToList();
        Assert.Single(recovered);
        Assert.InRange(recovered[0], Math.Max(2, finishedBefore), 4);
    }

    public void Dispose()
    {
        ProcessTests.KillLeftovers(output);
        Directory.Delete(_work, recursive: true);
    }
}

/// <summary>The ballistic fault test (tests/ballistic/ballistic.sh) in its short form: a tiny grid, three kills of
/// random processes. The long form is run by hand (see the README).</summary>
[Collection(ProcessLanes.Journal)]
public sealed class BallisticTests(ITestOutputHelper output) : IDisposable
{
    readonly string _work = Directory.CreateTempSubdirectory("samcluster-ballistic-test-").FullName;

    [Fact]
    public async Task Every_trial_appears_exactly_once_whatever_is_killed()
    {
        var grid = ProcessTests.WriteTinyGrid(_work, optimizers: "[sgd, sam]", repeats: 3, epochs: 2);
        var script = Path.Combine(RepositoryRoot(), "tests", "ballistic", "ballistic.sh");
        var start = ChildProcessRuntime.Apply(new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false });
        foreach (var a in new[] { script, "--grid", grid, "--kills", "3", "--min-gap", "5", "--max-gap", "9", "--timeout", "400", "--out", Path.Combine(_work, "run"),
                     "--port", ProcessTests.FreePort().ToString() })
            start.ArgumentList.Add(a);
        start.Environment["SAMCLUSTER_DLL"] = Path.Combine(AppContext.BaseDirectory, "samcluster.dll");
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(8)))
        {
            process.Kill(entireProcessTree: true);   // the script and whatever it started
            Assert.Fail("ballistic run did not end");
        }
        var printed = await stdout;
        output.WriteLine(printed);
        output.WriteLine(await stderr);
        Assert.Equal(0, process.ExitCode);
        Assert.Matches(@"kills survived \d+ .* / trials 6 of 6 / duplicates 0 / wall time", printed);
    }

    static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "SamCluster.sln"))) return dir.FullName;
        throw new InvalidOperationException("SamCluster.sln not found above " + AppContext.BaseDirectory);
    }

    public void Dispose()
    {
        ProcessTests.KillLeftovers(output);
        Directory.Delete(_work, recursive: true);
    }
}
