using Microsoft.Extensions.Hosting;

namespace SamCluster.Hosting;

/// <summary>The host's lifetime when the command owns Ctrl-C and SIGTERM (the CLI's ShutdownSignal): the host registers
/// no signal handlers of its own. The default (ConsoleLifetime) registered a second SIGTERM handler whose stop could
/// hold the signal thread while the actor system shut down (a shard region waiting out its hand-off, ~10 s), so the
/// command's own handler, and with it the 4.5 s hard stop, ran only after it; the command stops the host itself.</summary>
public sealed class CommandLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
