using System.Diagnostics;
using System.Runtime.InteropServices;
using SamCluster.Cli.Commands;
using SamCluster.Messages;

namespace SamCluster.Cli.Processes;

/// <summary>
/// The node processes of `samcluster local`: N copies of this program in `node` mode on 127.0.0.1, each logging to
/// logs/node-K.log and watching this process (--parent-pid) so none outlives it. Disposing asks them to stop (SIGTERM,
/// so they leave the cluster cleanly) and kills what is left after a grace period. A node log that cannot be written
/// is not written any more; a full disk is told to <c>onLogFailure</c> (which ends the run).
/// </summary>
public sealed partial class LocalNodes : IDisposable
{
    readonly List<(Process Process, StreamWriter Log)> _nodes = new();
    readonly Action<Exception>? _onLogFailure;

    LocalNodes(Action<Exception>? onLogFailure) => _onLogFailure = onLogFailure;

    /// <summary>What `local` starts when the user names no --nodes or --devices: on a machine with GPUs one node per GPU
    /// (node-K on cuda:K-1); without GPUs this many CPU nodes.</summary>
    public const int DefaultCpuNodes = 2;

    /// <summary>The --devices of each node. A --devices list goes to every node as given. Without one, a machine's GPUs
    /// are dealt out round-robin — by default one node per GPU (<paramref name="nodes"/> null), so a CUDA fault or an
    /// out-of-memory ends one node, whose trial goes back to the queue, not the run; with fewer nodes than GPUs a node
    /// gets several, with more, nodes share them — and a machine without GPUs gets CPU nodes.</summary>
    public static IReadOnlyList<string> DevicesPerNode(int? nodes, string? devices, int gpuCount)
    {
        if (!string.IsNullOrWhiteSpace(devices))
            return Enumerable.Repeat(devices, nodes ?? DefaultCpuNodes).ToList();
        if (gpuCount <= 0)
            return Enumerable.Repeat("cpu", nodes ?? DefaultCpuNodes).ToList();
        var count = nodes ?? gpuCount;
        return Enumerable.Range(0, count)
            .Select(k => count <= gpuCount
                ? string.Join(",", Enumerable.Range(0, gpuCount).Where(gpu => gpu % count == k).Select(gpu => $"cuda:{gpu}"))
                : $"cuda:{k % gpuCount}")
            .ToList();
    }

    /// <summary>Starts one node per entry of <paramref name="devicesPerNode"/> (see <see cref="DevicesPerNode"/>).</summary>
    /// <param name="verbose">The nodes log Akka's detail too (--verbose).</param>
    /// <param name="pack">Every node's --pack (null: as the grid's `pack` key says).</param>
    public static LocalNodes Start(IReadOnlyList<string> devicesPerNode, int coordinatorPort, string logsDir, int slots, int threadsPerNode, string? libtorch,
        bool verbose = false, Action<Exception>? onLogFailure = null, int? pack = null)
    {
        var nodes = new LocalNodes(onLogFailure);
        for (var k = 1; k <= devicesPerNode.Count; k++)
        {
            var args = new List<string>
            {
                "node", "--coordinator", $"127.0.0.1:{coordinatorPort}", "--name", $"node-{k}", "--devices", devicesPerNode[k - 1],
                "--slots", slots.ToString(), "--threads", threadsPerNode.ToString(), "--parent-pid", Environment.ProcessId.ToString(),
            };
            if (libtorch != null) args.AddRange([LibTorchFlag.Name, libtorch]);
            if (verbose) args.Add("--verbose");
            if (pack is { } k2) args.AddRange(["--pack", k2.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            nodes.Launch(args, Path.Combine(logsDir, $"node-{k}.log"));
        }
        return nodes;
    }

    void Launch(IReadOnlyList<string> args, string logPath)
    {
        var start = SelfStartInfo(args);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        var log = new StreamWriter(logPath, append: true) { AutoFlush = true };
        var process = new Process { StartInfo = start };
        var failed = false;
        void Write(string? line)
        {
            if (line == null) return;
            lock (log)
            {
                if (failed) return;
                // An exception here would be unhandled on a thread-pool thread and take the coordinator down.
                try { log.WriteLine(line); }
                catch (Exception e) when (e is IOException or ObjectDisposedException)
                {
                    failed = true;
                    if (DiskFull.Wrap(e, logPath) is { } full) _onLogFailure?.Invoke(full);
                }
            }
        }
        process.OutputDataReceived += (_, e) => Write(e.Data);
        process.ErrorDataReceived += (_, e) => Write(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _nodes.Add((process, log));
    }

    /// <summary>This same program: the apphost, or `dotnet samcluster.dll` when started that way.</summary>
    public static ProcessStartInfo SelfStartInfo(IEnumerable<string> args)
    {
        var processPath = Environment.ProcessPath ?? "dotnet";
        var viaDotnet = Path.GetFileNameWithoutExtension(processPath) == "dotnet";
        var start = new ProcessStartInfo(processPath);
        if (viaDotnet) start.ArgumentList.Add(typeof(Program).Assembly.Location);
        foreach (var a in args) start.ArgumentList.Add(a);
        return start;
    }

    public void Dispose()
    {
        foreach (var (process, _) in _nodes)
            if (!process.HasExited) Terminate(process.Id);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        foreach (var (process, log) in _nodes)
        {
            var left = deadline - DateTime.UtcNow;
            if (!process.WaitForExit(left > TimeSpan.Zero ? left : TimeSpan.Zero))
                process.Kill(entireProcessTree: true);
            process.WaitForExit();
            lock (log)
            {
                try { log.Dispose(); }
                catch (IOException) { } // what could not be flushed (a full disk) was reported when it failed
            }
            process.Dispose();
        }
        _nodes.Clear();
    }

    const int SigTerm = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    static void Terminate(int pid)
    {
        if (OperatingSystem.IsWindows()) { Process.GetProcessById(pid).Kill(entireProcessTree: true); return; }
        Kill(pid, SigTerm);
    }
}
