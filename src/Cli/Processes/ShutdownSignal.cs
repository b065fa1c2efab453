using System.Diagnostics;
using System.Runtime.InteropServices;

namespace SamCluster.Cli.Processes;

/// <summary>A cancellation token for "stop now, cleanly": SIGINT (Ctrl-C), SIGTERM (systemd, docker, our own `local`),
/// or — for node processes started by `local` — the parent process going away. The clean stop is given
/// <see cref="HardStopAfter"/>: a command blocked where no token reaches (a read the kernel holds, a library that
/// ignores cancellation) or a shutdown that drags still ends the process in time, with one line; a second signal ends
/// it at once.</summary>
public sealed partial class ShutdownSignal : IDisposable
{
    /// <summary>Every command ends within 5 s of SIGTERM or Ctrl-C (docs/REFERENCE.md, "Commands"): the clean stop gets this long.</summary>
    public static readonly TimeSpan HardStopAfter = TimeSpan.FromSeconds(4.5);

    readonly CancellationTokenSource _cts = new();
    readonly List<PosixSignalRegistration> _registrations = new();
    int _signals;
    volatile bool _disposed;

    public CancellationToken Token => _cts.Token;

    public ShutdownSignal(int? parentPid = null)
    {
        foreach (var signal in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM })
            _registrations.Add(PosixSignalRegistration.Create(signal, context =>
            {
                context.Cancel = true; // we shut down ourselves, in order
                Stop(signal == PosixSignal.SIGINT ? "Ctrl-C" : "SIGTERM");
            }));
        if (parentPid is { } pid) _ = WatchParent(pid);
    }

    void Stop(string why)
    {
        var count = Interlocked.Increment(ref _signals);
        if (count == 1)
        {
            _ = HardStopLater(why);
            try { _cts.Cancel(); }
            catch (ObjectDisposedException) { } // the command has just ended
        }
        else
        {
            HardStop(why, "a second time");
        }
    }

    async Task HardStopLater(string why)
    {
        await Task.Delay(HardStopAfter);
        HardStop(why, $"and a clean stop took longer than {HardStopAfter.TotalSeconds:0.#} s");
    }

    void HardStop(string why, string detail)
    {
        if (_disposed) return; // the command ended in time
        Console.Error.WriteLine($"samcluster: stopped by {why} ({detail}); work finished so far is kept");
        Console.Error.Flush();
        // _exit, not Environment.Exit: exit handlers (Akka's own shutdown hook among them) are what may be stuck.
        Exit(1);
    }

    async Task WatchParent(int pid)
    {
        while (!_cts.IsCancellationRequested)
        {
            if (!IsAlive(pid)) { Stop("its parent process ending"); return; }
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
    }

    static bool IsAlive(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException) { return false; }
    }

    public void Dispose()
    {
        _disposed = true;
        foreach (var r in _registrations) r.Dispose();
        _cts.Dispose();
    }

    [LibraryImport("libc", EntryPoint = "_exit")]
    private static partial void Exit(int status);
}
