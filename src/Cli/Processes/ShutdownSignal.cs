using System.Diagnostics;
using System.Runtime.InteropServices;

namespace SamCluster.Cli.Processes;

/// <summary>A cancellation token for "stop now, cleanly": SIGINT (Ctrl-C), SIGTERM (systemd, docker, our own `local`),
/// or — for node processes started by `local` — the parent process going away.</summary>
public sealed class ShutdownSignal : IDisposable
{
    readonly CancellationTokenSource _cts = new();
    readonly List<PosixSignalRegistration> _registrations = new();

    public CancellationToken Token => _cts.Token;

    public ShutdownSignal(int? parentPid = null)
    {
        foreach (var signal in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM })
            _registrations.Add(PosixSignalRegistration.Create(signal, context =>
            {
                context.Cancel = true; // we shut down ourselves, in order
                _cts.Cancel();
            }));
        if (parentPid is { } pid) _ = WatchParent(pid);
    }

    async Task WatchParent(int pid)
    {
        while (!_cts.IsCancellationRequested)
        {
            if (!IsAlive(pid)) { _cts.Cancel(); return; }
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
        foreach (var r in _registrations) r.Dispose();
        _cts.Dispose();
    }
}
