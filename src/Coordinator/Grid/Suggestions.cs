namespace SamCluster.Coordinator.Grid;

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
            var distance = Levenshtein(wanted, Normalize(candidate));
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

    static int Levenshtein(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++) previous[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j], current[j - 1]) + 1);
            }
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }
}
