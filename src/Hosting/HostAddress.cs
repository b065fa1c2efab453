using System.Net;
using System.Net.Sockets;
using SamCluster.Messages;

namespace SamCluster.Hosting;

/// <summary>The address a --host, --http-host or --health-host value listens on.</summary>
public static class HostAddress
{
    /// <summary>How long a name's lookup may take: a DNS server that never answers would otherwise hold the start (the
    /// system resolver retries for half a minute and more).</summary>
    public static readonly TimeSpan ResolveTimeout = TimeSpan.FromSeconds(5);

    /// <param name="flag">The flag that named the host, for the message ("--http-host").</param>
    /// <exception cref="UserInputException">The name has no address, or none came within <see cref="ResolveTimeout"/>.</exception>
    public static IPAddress Resolve(string host, string flag, CancellationToken cancel = default)
    {
        if (IPAddress.TryParse(host, out var ip)) return ip;
        if (host == "localhost") return IPAddress.Loopback;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timeout.CancelAfter(ResolveTimeout);
        var lookup = Dns.GetHostAddressesAsync(host, timeout.Token);
        try
        {
            // Waited on with its own timer too: a lookup that does not heed its token must not hold the start either.
            if (!lookup.Wait(ResolveTimeout, cancel))
                throw TimedOut(host, flag);
        }
        catch (AggregateException e) when (e.InnerException is OperationCanceledException)
        {
            cancel.ThrowIfCancellationRequested();
            throw TimedOut(host, flag);
        }
        catch (AggregateException e) when (e.InnerException is SocketException)
        {
            throw new UserInputException($"{flag} {host} does not resolve to an address ({e.InnerException.Message})");
        }
        return lookup.Result.FirstOrDefault() ?? throw new UserInputException($"{flag} {host} does not resolve to an address");
    }

    static UserInputException TimedOut(string host, string flag) =>
        new($"{flag} {host} did not resolve to an address within {ResolveTimeout.TotalSeconds:0} s (is DNS reachable?); give an IP address or a name this host can resolve");
}
