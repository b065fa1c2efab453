namespace SamCluster.Messages;

/// <summary>Identifies one trial of the grid. <see cref="Id"/> ("dataset/model/optimizer/repeat") is stable across runs
/// and is the sharding entity id, the journal's persistence id and the log file name (logs/&lt;id&gt;.log).</summary>
public sealed record TrialKey(string Dataset, string Model, string Optimizer, int Repeat)
{
    public string Id => $"{Dataset}/{Model}/{Optimizer}/{Repeat}";

    public override string ToString() => Id;

    public static TrialKey Parse(string id)
    {
        var parts = id.Split('/');
        if (parts.Length != 4 || parts.Take(3).Any(string.IsNullOrWhiteSpace) || !int.TryParse(parts[3], out var repeat))
            throw new FormatException($"'{id}' is not a trial id of the form dataset/model/optimizer/repeat");
        return new TrialKey(parts[0], parts[1], parts[2], repeat);
    }

    /// <summary>Seed derived from the trial itself (FNV-1a over the id, mixed with the grid's seed), so a rerun of the
    /// same trial reproduces it and SAM and SGD of the same repeat differ only by optimizer.</summary>
    public long DeriveSeed(long gridSeed = 0)
    {
        const ulong offset = 14695981039346656037UL, prime = 1099511628211UL;
        ulong hash = offset ^ (ulong)gridSeed;
        foreach (var ch in $"{Dataset}/{Model}/{Repeat}")   // optimizer left out on purpose: paired arms share init and data order
        {
            hash ^= ch;
            hash *= prime;
        }
        return (long)(hash & 0x7FFF_FFFF_FFFF);           // positive and exact in a double (JSON, CSV)
    }
}
