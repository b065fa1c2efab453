using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using SamCluster.Tests.Cluster;
using Xunit;
using Xunit.Abstractions;

namespace SamCluster.Tests.BadInput;

/// <summary>What one run of this build's samcluster printed and returned.</summary>
public sealed record CliRun(string[] Args, int ExitCode, string Stdout, string Stderr, TimeSpan Elapsed)
{
    public override string ToString() =>
        $"samcluster {string.Join(' ', Args)}\nexit {ExitCode} after {Elapsed.TotalSeconds:F1} s\n--- stderr:\n{Stderr}\n--- stdout:\n{Stdout}";
}

/// <summary>Runs this build's samcluster.dll as a separate process (<see cref="InProcessCli"/> runs it in this one), and
/// checks the bad-input contract on a run either way: exit code 2, exactly one non-empty stderr line "samcluster: ..."
/// naming the problem, and no stack trace anywhere.</summary>
public static class Cli
{
    public static readonly TimeSpan DefaultLimit = TimeSpan.FromSeconds(60);

    public static CliRun Run(string workDir, params string[] args) => RunWithin(DefaultLimit, workDir, args);

    public static CliRun RunWithin(TimeSpan limit, string workDir, params string[] args) => RunWithin(limit, workDir, null, args);

    /// <param name="environment">Variables to set (a null value removes one) for this run only.</param>
    public static CliRun RunWithin(TimeSpan limit, string workDir, IReadOnlyDictionary<string, string?>? environment, params string[] args)
    {
        var start = ChildProcessRuntime.Apply(new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = workDir,
        });
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
            if (value is null) start.Environment.Remove(name); else start.Environment[name] = value;
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "samcluster.dll"));
        foreach (var arg in args) start.ArgumentList.Add(arg);
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(limit))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            Assert.Fail($"samcluster {string.Join(' ', args)} did not exit within {limit.TotalSeconds:F0} s\n--- stderr:\n{stderr.Result}\n--- stdout:\n{stdout.Result}");
        }
        process.WaitForExit(); // drains the redirected streams
        return new CliRun(args, process.ExitCode, stdout.Result, stderr.Result, clock.Elapsed);
    }

    /// <summary>Asserts the contract and that the one line contains every one of <paramref name="mentions"/>; returns the line.</summary>
    public static string AssertRefused(CliRun run, ITestOutputHelper? log, params string[] mentions)
    {
        var line = AssertOneLine(run, log, exitCode: 2, mentions);
        Assert.False(line.Contains("internal error"), $"a user error reported as an internal error\n{run}");
        foreach (var output in new[] { run.Stderr, run.Stdout })
            Assert.False(output.Contains("Exception:"), $"an exception's text in the output\n{run}");
        return line;
    }

    /// <summary>Asserts the failure contract (not the user's fault): exit code 1, exactly one non-empty stderr line
    /// "samcluster: ..." containing every one of <paramref name="mentions"/>, and no stack frames anywhere; returns the line.</summary>
    public static string AssertFailed(CliRun run, ITestOutputHelper? log, params string[] mentions) =>
        AssertOneLine(run, log, exitCode: 1, mentions);

    /// <summary>What both contracts share: the exit code, exactly one stderr line "samcluster: ..." holding every one of
    /// <paramref name="mentions"/>, and no stack frames in either stream.</summary>
    static string AssertOneLine(CliRun run, ITestOutputHelper? log, int exitCode, string[] mentions)
    {
        log?.WriteLine($"samcluster {string.Join(' ', run.Args)}\n  -> exit {run.ExitCode}, {run.Elapsed.TotalSeconds:F1} s: {run.Stderr.Trim()}");
        var lines = run.Stderr.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Trim().Length > 0).ToList();
        Assert.True(run.ExitCode == exitCode, $"expected exit code {exitCode}\n{run}");
        Assert.True(lines.Count == 1, $"expected exactly one line on stderr, got {lines.Count}\n{run}");
        Assert.True(lines[0].StartsWith("samcluster: ", StringComparison.Ordinal), $"the line must start with 'samcluster: '\n{run}");
        foreach (var output in new[] { run.Stderr, run.Stdout })
            Assert.False(output.Contains("   at "), $"stack frames in the output\n{run}");
        foreach (var mention in mentions)
            Assert.True(lines[0].Contains(mention, StringComparison.Ordinal), $"the line should mention '{mention}'\n{run}");
        return lines[0];
    }
}

/// <summary>Every file under a folder with a hash of its bytes, to prove a refused command left the folder as it was.</summary>
public static class FolderSnapshot
{
    public static IReadOnlyDictionary<string, string> Take(string root) =>
        Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories)
            .Order(StringComparer.Ordinal)
            .ToDictionary(path => Path.GetRelativePath(root, path),
                path => Directory.Exists(path) ? "folder" : Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path))));

    public static void AssertUnchanged(IReadOnlyDictionary<string, string> before, string root)
    {
        var after = Take(root);
        Assert.Equal(before.Keys.Order(StringComparer.Ordinal), after.Keys.Order(StringComparer.Ordinal));
        foreach (var (path, hash) in before)
            Assert.True(after[path] == hash, $"{path} changed");
    }
}

/// <summary>A temp folder per test class instance, with a valid tiny grid whose lines tests break one at a time.</summary>
public abstract class BadInputTest(ITestOutputHelper log) : IDisposable
{
    protected readonly ITestOutputHelper Log = log;
    protected readonly string Work = Directory.CreateTempSubdirectory("samcluster-badinput-").FullName;

    /// <summary>Line numbers below matter: tests assert that messages name them.</summary>
    protected static string ValidGrid(string dataFolder) => $"""
        datasets: [fashion-mnist]
        models: [resnet18]
        optimizers: [sgd, sam]
        repeats: 2
        recipe:
          epochs: 2
          batch_size: 64
          lr: 0.001
          rho: 0.05
        data:
          fashion-mnist:
            path: {dataFolder}

        """;

    /// <summary>Writes <paramref name="text"/> as Work/<paramref name="name"/> and returns its path.</summary>
    protected string WriteFile(string name, string text)
    {
        var path = Path.Combine(Work, name);
        File.WriteAllText(path, text);
        return path;
    }

    protected string Refused(CliRun run, params string[] mentions) => Cli.AssertRefused(run, Log, mentions);

    /// <summary>Refused as <see cref="Refused"/>, and within <paramref name="seconds"/> (a hang is a failure too).</summary>
    protected void RefusedWithin(int seconds, CliRun run, params string[] mentions)
    {
        Refused(run, mentions);
        Assert.True(run.Elapsed < TimeSpan.FromSeconds(seconds), $"refusing took {run.Elapsed.TotalSeconds:F0} s");
    }

    readonly List<string> _fifos = [];

    /// <summary>A named pipe nobody writes to, in the work folder.</summary>
    protected string MakeFifo(string name)
    {
        var path = Path.Combine(Work, name);
        using var mkfifo = System.Diagnostics.Process.Start("mkfifo", [path]);
        mkfifo.WaitForExit();
        _fifos.Add(path);
        return path;
    }

    /// <summary>Runs samcluster in this process (<see cref="InProcessCli"/>), in the work folder.</summary>
    protected CliRun Run(params string[] args) => InProcessCli.Run(Work, args);

    /// <summary>The run folder of <see cref="ExistingRun"/>: Work/run.</summary>
    protected string OutDir => Path.Combine(Work, "run");

    /// <summary>A run folder of grid.yaml as a coordinator leaves it (manifest, grid copy), plus results to protect;
    /// returns the grid's path.</summary>
    protected string ExistingRun()
    {
        var grid = WriteFile("grid.yaml", ValidGrid(Work));
        using var folder = SamCluster.RunStore.RunFolder.Prepare(OutDir, grid,
            SamCluster.Experiment.Grid.GridExpander.Expand(SamCluster.Experiment.Grid.GridConfigLoader.Load(grid)));
        File.WriteAllText(folder.TrialsCsv, "dataset,model,optimizer,repeat,status\nfashion-mnist,resnet18,sgd,1,completed\n");
        var trialLog = folder.TrialLog("fashion-mnist/resnet18/sgd/1");
        Directory.CreateDirectory(Path.GetDirectoryName(trialLog)!);
        File.WriteAllText(trialLog, "epoch 1/2\n");
        return grid;
    }

    public void Dispose()
    {
        foreach (var fifo in _fifos) Fifo.ReleaseBlockedOpens(fifo);
        Directory.Delete(Work, recursive: true);
    }
}

/// <summary>A command given a pipe nobody writes to leaves a thread blocked in open(2) (InputFile gives up waiting after
/// a few seconds); a process ends with it, but in the test host it would stay blocked for the rest of the run. Opening
/// the pipe for writing lets every such open return; non-blocking, so that with no open waiting it fails (ENXIO) at once
/// instead of waiting for a reader.</summary>
static class Fifo
{
    const int WriteOnly = 0x1, NonBlocking = 0x800; // O_WRONLY, O_NONBLOCK (Linux)

    public static void ReleaseBlockedOpens(string path)
    {
        var fd = open(path, WriteOnly | NonBlocking);
        if (fd >= 0) close(fd);
    }

    [DllImport("libc", SetLastError = true)]
    static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc")]
    static extern int close(int fd);
}
