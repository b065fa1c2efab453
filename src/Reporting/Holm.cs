namespace SamCluster.Reporting;

/// <summary>Holm–Bonferroni step-down adjustment of p-values for multiple comparisons.</summary>
public static class Holm
{
    /// <summary>Adjusted p-values in the input order; null inputs (no test) stay null and do not count in m.</summary>
    public static double?[] Adjust(IReadOnlyList<double?> pValues)
    {
        var tested = pValues.Select((p, i) => (P: p, Index: i)).Where(x => x.P is not null)
            .OrderBy(x => x.P!.Value).ThenBy(x => x.Index).ToList();
        var adjusted = new double?[pValues.Count];
        var m = tested.Count;
        var running = 0.0;
        for (var rank = 0; rank < m; rank++)
        {
            // Step-down: each adjusted p is at least the one before it (monotone), capped at 1.
            running = Math.Max(running, Math.Min(1.0, (m - rank) * tested[rank].P!.Value));
            adjusted[tested[rank].Index] = running;
        }
        return adjusted;
    }
}
