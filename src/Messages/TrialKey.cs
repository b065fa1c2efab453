using System.Text.Json.Serialization;

namespace SamCluster.Messages;

/// <summary>Identifies one trial of the grid. <see cref="Id"/> ("dataset/model/optimizer/repeat", or
/// "dataset/model/optimizer/cell/repeat" when the grid varies recipe values) is stable across runs and is the sharding
/// entity id, the journal's persistence id and the log file name (logs/&lt;id&gt;.log).</summary>
/// <param name="Cell">The recipe values this trial's grid cell varies, "lr=0.01,rho=0.1"; null when nothing varies
/// (left out of JSON then, so journals and checkpoints of grids without axes read as before).</param>
public sealed record TrialKey(string Dataset, string Model, string Optimizer, int Repeat,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Cell = null)
{
    public string Id => string.IsNullOrEmpty(Cell)
        ? $"{Dataset}/{Model}/{Optimizer}/{Repeat}"
        : $"{Dataset}/{Model}/{Optimizer}/{Cell}/{Repeat}";

    public override string ToString() => Id;

    public static TrialKey Parse(string id)
    {
        var parts = id.Split('/');
        if (parts.Length is not (4 or 5) || parts.SkipLast(1).Any(string.IsNullOrWhiteSpace) || !int.TryParse(parts[^1], out var repeat))
            throw new FormatException($"'{id}' is not a trial id of the form dataset/model/optimizer/repeat (or dataset/model/optimizer/cell/repeat)");
        return new TrialKey(parts[0], parts[1], parts[2], repeat, parts.Length == 5 ? parts[3] : null);
    }

    /// <summary>Seed derived from the trial itself (FNV-1a over the id, mixed with the grid's seed), so a rerun of the
    /// same trial reproduces it and SAM and SGD of the same repeat differ only by optimizer.</summary>
    public long DeriveSeed(long gridSeed = 0)
    {
        const ulong offset = 14695981039346656037UL, prime = 1099511628211UL;
        ulong hash = offset ^ (ulong)gridSeed;
        // Optimizer and cell left out on purpose: every arm and cell of a repeat shares init and data order, so each
        // comparison is paired by repeat and differs only in what it compares.
        foreach (var ch in $"{Dataset}/{Model}/{Repeat}")
        {
            hash ^= ch;
            hash *= prime;
        }
        return (long)(hash & 0x7FFF_FFFF_FFFF);           // positive and exact in a double (JSON, CSV)
    }
}
