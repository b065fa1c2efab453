using MathNet.Numerics.Distributions;
using SamCluster.Experiment;

namespace SamCluster.Reporting.Sequential;

/// <summary>What a look decides for one comparison.</summary>
public enum LookDecision
{
    /// <summary>Run the next look's repeats.</summary>
    Continue,
    /// <summary>SAM better: the one-sided p is at or below the look's nominal level.</summary>
    Efficacy,
    /// <summary>SAM's gain, if any, is below the margin: the repeated upper bound is under margin_pp.</summary>
    Futility,
    /// <summary>The last look passed without efficacy.</summary>
    NotShown,
}

/// <summary>A look's figures and decision for one comparison (treatment − control, in percentage points).</summary>
/// <param name="Look">1-based.</param>
/// <param name="RepeatedCi">The repeated confidence interval of the difference at this look: difference ± t_{df, 1−α_k}·SE
/// (its coverage holds over all looks together).</param>
public sealed record LookResult(
    int Look,
    int Looks,
    int NPerArm,
    LookDecision Decision,
    double? Statistic,
    double? Df,
    double NominalAlpha,
    double? PValue,
    double? Difference,
    (double Low, double High)? RepeatedCi)
{
    public static string NameOf(LookDecision decision) => decision switch
    {
        LookDecision.Continue => "continue",
        LookDecision.Efficacy => "efficacy",
        LookDecision.Futility => "futility",
        _ => "not_shown",
    };

    /// <summary>"look 2 of 4: continue", "stopped at look 1: SAM better", "stopped at look 2: gain &lt; 0.2 pp".</summary>
    public string Describe(string treatment, double? marginPp) => Decision switch
    {
        LookDecision.Continue => $"look {Look} of {Looks}: continue",
        LookDecision.Efficacy => $"stopped at look {Look}: {treatment} better",
        LookDecision.Futility => $"stopped at look {Look}: gain < {marginPp?.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)} pp",
        _ => $"look {Look} of {Looks}: not shown",
    };
}

/// <summary>
/// The rule a sequential study follows at each look (the grid's `sequential` key, docs/REFERENCE.md "Sequential studies"): on the
/// completed repeats 1..n_k of both arms, Welch's t with its Welch–Satterthwaite df (or the paired t on the repeats'
/// differences). Efficacy when the one-sided p from that t distribution is at most the design's nominal level α_k;
/// futility (only with a margin; non-binding) when difference + t_{df, 1−α_k}·SE is below the margin; else continue, and
/// at the last look without efficacy the decision is "not shown". Alternative.Less turns the direction round.
/// </summary>
public sealed class SequentialRule(GroupSequentialDesign design, double? marginPp, bool paired, Alternative alternative = Alternative.Greater)
{
    public GroupSequentialDesign Design { get; } = design;

    public static SequentialRule For(SequentialPlan plan, Alternative alternative = Alternative.Greater)
    {
        if (alternative == Alternative.TwoSided)
            throw new ArgumentException("a sequential design is one-sided: choose greater or less", nameof(alternative));
        var family = GroupSequentialDesign.Parse(plan.Spending) ?? throw new ArgumentException($"unknown spending '{plan.Spending}'", nameof(plan));
        return new SequentialRule(GroupSequentialDesign.Create(plan.Looks, plan.Alpha, family), plan.MarginPp, plan.Test == SequentialPlan.Paired, alternative);
    }

    /// <summary>The decision at look <paramref name="look"/> (1-based) on the first n_k repeats of each arm, paired by
    /// index (repeat r of the treatment with repeat r of the control).</summary>
    public LookResult Decide(int look, IReadOnlyList<double> treatment, IReadOnlyList<double> control)
    {
        var k = look - 1;
        var n = Design.Looks[k];
        var nominal = Design.NominalAlpha[k];
        var last = look == Design.LookCount;
        var a = treatment.Take(n).ToList();
        var b = control.Take(n).ToList();
        var (difference, se, df) = paired ? PairedFigures(a, b) : WelchFigures(a, b);
        var sign = alternative == Alternative.Less ? -1 : 1;
        if (se is not > 0 || df is not > 0)
        {
            // No spread to test with (every value equal): no evidence either way; the study goes on, or ends not shown.
            return new LookResult(look, Design.LookCount, n, last ? LookDecision.NotShown : LookDecision.Continue,
                null, null, nominal, null, difference, null);
        }
        var t = difference / se.Value;
        var p = StudentT.CDF(0, 1, df.Value, -sign * t);
        var q = StudentT.InvCDF(0, 1, df.Value, 1 - nominal);
        var ci = (difference - q * se.Value, difference + q * se.Value);
        var decision = p <= nominal ? LookDecision.Efficacy
            : marginPp is { } margin && sign * difference + q * se.Value < margin ? LookDecision.Futility
            : last ? LookDecision.NotShown : LookDecision.Continue;
        return new LookResult(look, Design.LookCount, n, decision, t, df, nominal, p, difference, ci);
    }

    /// <summary>The stage-wise ordering p-value of a study whose latest look is <paramref name="result"/>
    /// (<see cref="GroupSequentialDesign.StagewisePValue"/>). The rule's p is from the t distribution; it enters the
    /// design's z-scale ordering as z = Φ⁻¹(1 − p), as rpact converts a t statistic. Null when the look had no test.</summary>
    public double? StagewisePValue(LookResult result) =>
        // −Φ⁻¹(p) rather than Φ⁻¹(1 − p): exact for the smallest p-values, where 1 − p rounds to 1.
        result.PValue is { } p ? Design.StagewisePValue(result.Look, -Normal.InvCDF(0, 1, p)) : null;

    static (double Difference, double? Se, double? Df) WelchFigures(List<double> a, List<double> b)
    {
        var (sa, sb) = (SampleSummary.Of(a), SampleSummary.Of(b));
        var (va, vb) = (sa.Variance / sa.N, sb.Variance / sb.N);
        var se = Math.Sqrt(va + vb);
        if (se == 0) return (sa.Mean - sb.Mean, null, null);
        var df = (va + vb) * (va + vb) / (va * va / (sa.N - 1) + vb * vb / (sb.N - 1));
        return (sa.Mean - sb.Mean, se, df);
    }

    static (double Difference, double? Se, double? Df) PairedFigures(List<double> a, List<double> b)
    {
        var d = SampleSummary.Of(a.Zip(b, (x, y) => x - y).ToList());
        var se = d.Sd / Math.Sqrt(d.N);
        return se == 0 ? (d.Mean, null, null) : (d.Mean, se, d.N - 1.0);
    }
}
