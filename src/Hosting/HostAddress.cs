using System.Net;
using SamCluster.Messages;

namespace SamCluster.Hosting;

/// <summary>The address a --host, --http-host or --health-host value listens on.</summary>
public static class HostAddress
{
    public static IPAddress Resolve(string host) =>
        IPAddress.TryParse(host, out var ip) ? ip
        : host == "localhost" ? IPAddress.Loopback
        : Dns.GetHostAddresses(host).FirstOrDefault() ?? throw new UserInputException($"--host {host} does not resolve to an address");
}
