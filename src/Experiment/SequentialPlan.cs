namespace SamCluster.Experiment;

/// <summary>
/// The grid's `sequential` key: repeats are run in looks, and a comparison stops at the first look whose rule decides
/// (efficacy, or futility when <see cref="MarginPp"/> is set). Only the values the user wrote; the design's boundaries are
/// computed from them (Reporting's GroupSequentialDesign). The names here are the vocabulary's.
/// </summary>
/// <param name="Looks">Repeats per arm at each look, increasing, each at least 2; the last equals the grid's repeats.</param>
/// <param name="Alpha">One-sided type-I error per comparison, in (0, 0.5).</param>
/// <param name="Spending">"obrien-fleming" or "pocock" (Lan–DeMets spending of that family).</param>
/// <param name="MarginPp">Non-binding futility: stop when the repeated upper bound of SAM's gain is below this many
/// percentage points. Null: no futility stop.</param>
/// <param name="Test">"welch" (Welch's t on the two arms) or "paired" (paired t on the repeats' differences).</param>
public sealed record SequentialPlan(IReadOnlyList<int> Looks, double Alpha, string Spending, double? MarginPp, string Test)
{
    public const string OBrienFleming = "obrien-fleming";
    public const string Pocock = "pocock";
    public static readonly IReadOnlyList<string> SpendingNames = [OBrienFleming, Pocock];

    public const string Welch = "welch";
    public const string Paired = "paired";
    public static readonly IReadOnlyList<string> TestNames = [Welch, Paired];

    public static readonly IReadOnlyList<string> Keys = ["looks", "alpha", "spending", "margin_pp", "test"];

    /// <summary>At most this many looks: each is a decision point the whole grid waits on.</summary>
    public const int MaxLooks = 20;

    /// <summary>The fewest repeats per arm a look may have: a t statistic needs two per arm.</summary>
    public const int MinLook = 2;

    /// <summary>`margin_pp` lies in [−MarginLimitPp, MarginLimitPp]: accuracies are percentages.</summary>
    public const double MarginLimitPp = 100;

    /// <summary>`alpha` lies strictly between 0 and this: a one-sided level above 0.5 is no test.</summary>
    public const double MaxAlpha = 0.5;

    public int LastLook => Looks[^1];

    /// <summary>The look (1-based) whose repeats include <paramref name="repeat"/>; past the last look, the last.</summary>
    public int LookOf(int repeat)
    {
        for (var k = 0; k < Looks.Count; k++)
            if (repeat <= Looks[k]) return k + 1;
        return Looks.Count;
    }

    public bool Equals(SequentialPlan? other) =>
        other is not null && Looks.SequenceEqual(other.Looks) && Alpha == other.Alpha && Spending == other.Spending
        && MarginPp == other.MarginPp && Test == other.Test;

    public override int GetHashCode() => HashCode.Combine(string.Join(',', Looks), Alpha, Spending, MarginPp, Test);

    /// <summary>What makes a plan read back from a file (run.json, which anyone can edit) no design the grid reader would
    /// have let through; null when it is one.</summary>
    public string? Problem() =>
        Looks is not { Count: > 0 } ? "no looks"
        : Looks.Count > MaxLooks ? $"more than {MaxLooks} looks"
        : Looks[0] < MinLook || Looks.Zip(Looks.Skip(1)).Any(p => p.Second <= p.First) ? $"looks must increase, each at least {MinLook}"
        : !(Alpha > 0 && Alpha < MaxAlpha) ? $"alpha must lie in (0, {MaxAlpha})"
        : !SpendingNames.Contains(Spending) ? $"spending must be {string.Join(" or ", SpendingNames)}"
        : !TestNames.Contains(Test) ? $"test must be {string.Join(" or ", TestNames)}"
        : MarginPp is { } m && !(Math.Abs(m) <= MarginLimitPp) ? $"margin_pp must lie in [-{MarginLimitPp}, {MarginLimitPp}]"
        : null;

    /// <summary>One line, as run.json and messages state it.</summary>
    public override string ToString() =>
        $"looks [{string.Join(", ", Looks)}], alpha {Alpha.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}, spending {Spending}" +
        (MarginPp is { } m ? $", margin_pp {m.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}" : "") + $", test {Test}";
}
