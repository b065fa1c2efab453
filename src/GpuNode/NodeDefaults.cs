namespace SamCluster.GpuNode;

/// <summary>What a node is when its flags leave it open: how many torch threads it takes and what it is called.</summary>
public static class NodeDefaults
{
    /// <summary>Torch intra-op threads per trial when the flag is left out: the machine's cores shared by every trial
    /// that runs on it at once (each trial's kernels start their own team of this many threads), at least 1. A node
    /// alone on its machine shares them among its own workers (devices × slots); `local`'s nodes share them among all of
    /// theirs.</summary>
    public static int Threads(int cores, int trialsAtOnceOnMachine) => Math.Max(1, cores / Math.Max(1, trialsAtOnceOnMachine));

    /// <summary>The default name of the <paramref name="index"/>-th node (from 1) on machine <paramref name="host"/>:
    /// the host's name for the first, "host-2", "host-3" … for the others; the same on every restart, so trials.csv and
    /// the logs name the machine, not a process.</summary>
    public static string Name(string host, int index)
    {
        var name = host.Split('.')[0].ToLowerInvariant();   // the short name: a FQDN says nothing more in a log line
        if (name.Length == 0) name = "node";
        if (name.Length > 56) name = name[..56];
        return index <= 1 ? name : $"{name}-{index}";
    }
}

/// <summary>
/// The default node name this process holds on its machine (<see cref="NodeDefaults.Name"/>): the lowest index whose lock
/// file (in <c>lockFolder</c>) no other running node holds. The OS lock goes with the process however it ends, so a
/// restarted node takes its name back, and a second node started beside a running one becomes "host-2".
/// </summary>
public sealed class NodeNameClaim : IDisposable
{
    readonly FileStream? _lock;

    public string Name { get; }

    NodeNameClaim(string name, FileStream? held)
    {
        Name = name;
        _lock = held;
    }

    public const int MaxIndex = 64;

    /// <summary>Claims the first free name; where the lock folder cannot be used (read-only, missing rights) the host's
    /// name alone, unclaimed.</summary>
    public static NodeNameClaim Take(string host, string lockFolder)
    {
        try { Directory.CreateDirectory(lockFolder); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return new NodeNameClaim(NodeDefaults.Name(host, 1), null); }
        for (var index = 1; index <= MaxIndex; index++)
        {
            var name = NodeDefaults.Name(host, index);
            try
            {
                var held = new FileStream(Path.Combine(lockFolder, name + ".lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                return new NodeNameClaim(name, held);
            }
            catch (IOException) { }   // held by a running node: try the next index
            catch (UnauthorizedAccessException) { }   // another user's node's file: likewise
        }
        return new NodeNameClaim(NodeDefaults.Name(host, 1), null);
    }

    /// <summary>Where nodes of this machine keep their name locks: the temp folder, shared by the machine's users.</summary>
    public static string DefaultLockFolder => Path.Combine(Path.GetTempPath(), "samcluster-node-names");

    public void Dispose() => _lock?.Dispose();
}
