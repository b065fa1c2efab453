using System.Diagnostics;

namespace SamCluster.Tests.Cluster;

/// <summary>
/// A private network of Linux network namespaces: one per member (the coordinator, each node), each with one veth link
/// to a bridge that lives in a namespace of its own, and a private test address 10.213.S.K/24. Nothing of the host's
/// own network is touched. Cutting a member sets its link's bridge end down — a real partition, not a dead process:
/// the member keeps running and sees nothing. Disposing deletes every namespace (and with them their links), whatever
/// state the test left.
/// </summary>
public sealed class NamespaceNetwork : IDisposable
{
    readonly string _prefix = "sc" + Guid.NewGuid().ToString("N")[..5];
    readonly int _subnet = Random.Shared.Next(1, 250);
    readonly List<string> _members = [];
    readonly List<string> _namespaces = [];

    /// <summary>Why a namespace network cannot be built here (not root, no iproute2, no veth/bridge), or null.</summary>
    public static string? Unavailable()
    {
        if (!OperatingSystem.IsLinux()) return "network namespaces are Linux only";
        if (GetEuid() != 0) return "creating network namespaces needs root";
        if (!File.Exists("/usr/sbin/ip") && !File.Exists("/sbin/ip") && !File.Exists("/usr/bin/ip") && !File.Exists("/bin/ip"))
            return "iproute2's ip is not installed";
        var probe = "scprobe" + Guid.NewGuid().ToString("N")[..5];
        var (code, error) = Run("netns", "add", probe);
        if (code != 0) return $"cannot create a network namespace: {error.Trim()}";
        try
        {
            var (bridge, why) = Run("-n", probe, "link", "add", "br0", "type", "bridge");
            return bridge == 0 ? null : $"cannot create a bridge: {why.Trim()}";
        }
        finally { Run("netns", "del", probe); }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "geteuid")]
    static extern uint GetEuid();

    public NamespaceNetwork(params string[] members)
    {
        try
        {
            Must("netns", "add", Bridge);
            _namespaces.Add(Bridge);
            Must("-n", Bridge, "link", "set", "lo", "up");
            Must("-n", Bridge, "link", "add", "br0", "type", "bridge");
            Must("-n", Bridge, "link", "set", "br0", "up");
            foreach (var member in members) Add(member);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    string Bridge => _prefix + "-br";

    /// <summary>The namespace a member's processes run in.</summary>
    public string Namespace(string member) => $"{_prefix}-{member}";

    /// <summary>The member's address on the private network.</summary>
    public string Address(string member) => $"10.213.{_subnet}.{_members.IndexOf(member) + 1}";

    /// <summary>Cuts the member off: its link to the bridge goes down.</summary>
    public void Cut(string member) => Must("-n", Bridge, "link", "set", BridgeEnd(member), "down");

    /// <summary>Brings the member's link back up.</summary>
    public void Restore(string member) => Must("-n", Bridge, "link", "set", BridgeEnd(member), "up");

    /// <summary>What runs a command inside the member's namespace (a prefix to the command line).</summary>
    public string[] Exec(string member) => ["ip", "netns", "exec", Namespace(member)];

    // Interface names have at most 15 characters: sc + 5 + member (≤ 3) + b.
    string MemberEnd(string member) => _prefix + member;
    string BridgeEnd(string member) => _prefix + member + "b";

    void Add(string member)
    {
        if (member.Length > 3) throw new ArgumentException($"member name '{member}' is longer than 3 characters (interface names are short)");
        _members.Add(member);
        var ns = Namespace(member);
        Must("netns", "add", ns);
        _namespaces.Add(ns);
        Must("-n", ns, "link", "set", "lo", "up");
        Must("-n", ns, "link", "add", MemberEnd(member), "type", "veth", "peer", "name", BridgeEnd(member), "netns", Bridge);
        Must("-n", Bridge, "link", "set", BridgeEnd(member), "master", "br0");
        Must("-n", Bridge, "link", "set", BridgeEnd(member), "up");
        Must("-n", ns, "addr", "add", Address(member) + "/24", "dev", MemberEnd(member));
        Must("-n", ns, "link", "set", MemberEnd(member), "up");
    }

    static void Must(params string[] args)
    {
        var (code, error) = Run(args);
        if (code != 0) throw new InvalidOperationException($"ip {string.Join(' ', args)} failed ({code}): {error.Trim()}");
    }

    static (int Code, string Error) Run(params string[] args)
    {
        var start = new ProcessStartInfo("ip") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEnd();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, error);
    }

    public void Dispose()
    {
        // Deleting a namespace removes the veth ends inside it, and so the pair.
        foreach (var ns in Enumerable.Reverse(_namespaces)) Run("netns", "del", ns);
        _namespaces.Clear();
    }
}
