namespace SamCluster.Experiment.Grid;

/// <summary>"Did you mean" for misspelt keys and names.</summary>
static class Suggestions
{
    /// <summary>The known name closest to <paramref name="typed"/>, or null when none is close enough to be a likely typo.
    /// Case, '-', '_' and spaces are ignored first, so "ResNet-18" finds "resnet18" and "Fashion_MNIST" finds "fashion-mnist".</summary>
    public static string? Closest(string typed, IEnumerable<string> known)
    {
        var wanted = Normalize(typed);
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in known)
        {
            var distance = EditDistance(wanted, Normalize(candidate));
            if (distance < bestDistance)
            {
                best = candidate;
                bestDistance = distance;
            }
        }
        var tolerated = Math.Max(1, wanted.Length / 3);
        return bestDistance <= tolerated ? best : null;
    }

    /// <summary>" (did you mean 'x'?)" when a close name exists, else " (known: a, b, c)".</summary>
    public static string Hint(string typed, IReadOnlyCollection<string> known)
    {
        var closest = Closest(typed, known);
        return closest is not null ? $" (did you mean '{closest}'?)" : $" (known: {string.Join(", ", known)})";
    }

    static string Normalize(string s) =>
        new(s.Where(c => c is not ('-' or '_' or ' ')).Select(char.ToLowerInvariant).ToArray());

    /// <summary>Edits (insert, delete, substitute, swap two neighbours) from a to b: optimal string alignment distance,
    /// so the common typo "sma" is one edit from "sam".</summary>
    static int EditDistance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++) d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        return d[a.Length, b.Length];
    }
}
