using MathNet.Numerics;
using MathNet.Numerics.Distributions;
using MathNet.Numerics.Statistics;

namespace SamCluster.Reporting;

/// <summary>Direction of the alternative hypothesis for treatment A vs control B: Greater = A &gt; B.</summary>
public enum Alternative { Greater, TwoSided, Less }

public enum TestKind { Welch, Student, Paired, MannWhitney }

/// <summary>Result of comparing treatment A with control B (difference = A − B). Every figure is null where it is
/// undefined, and <see cref="Notes"/> says why: a report never shows NaN.</summary>
public sealed record TestResult(
    TestKind Test,
    Alternative Alternative,
    string Method,
    double? Statistic,
    double? Df,
    double? PValue,
    double? MeanDifference,
    double? CiLow,
    double? CiHigh,
    string? CiMethod,
    double? HedgesG,
    int? Pairs,
    IReadOnlyList<string> Notes);

/// <summary>Two-sample tests on the difference A − B. Distributions come from MathNet.Numerics (StudentT, Normal).</summary>
public static class TwoSampleTests
{
    public const double Confidence = 0.95;

    /// <summary>The test's name as results state it (Mann–Whitney's says exact or approximate once it has run).</summary>
    public static string MethodOf(TestKind test) => test switch
    {
        TestKind.Welch => "Welch's t-test (unequal variances, Welch–Satterthwaite df)",
        TestKind.Student => "Student's t-test (pooled variance)",
        TestKind.Paired => "paired t-test (matched by repeat)",
        _ => "Mann–Whitney U test",
    };

    /// <summary>Welch's unequal-variance t-test from summary statistics, with Welch–Satterthwaite df; the CI uses the
    /// t quantile at that df.</summary>
    public static TestResult Welch(SampleSummary a, SampleSummary b, Alternative alternative, string nameA = "A", string nameB = "B")
    {
        var method = MethodOf(TestKind.Welch);
        if (TooSmall(a, b) is { } why) return Undefined(TestKind.Welch, alternative, method, a, b, why);
        var va = a.Variance / a.N;
        var vb = b.Variance / b.N;
        var se = Math.Sqrt(va + vb);
        if (ZeroSpread(se, a, b, nameA, nameB) is { } constant) return Undefined(TestKind.Welch, alternative, method, a, b, constant);
        var df = (va + vb) * (va + vb) / (va * va / (a.N - 1) + vb * vb / (b.N - 1));
        return FromT(TestKind.Welch, alternative, method, a, b, se, df, "Welch");
    }

    /// <summary>Student's t-test with pooled variance, df = nA + nB − 2.</summary>
    public static TestResult Student(SampleSummary a, SampleSummary b, Alternative alternative, string nameA = "A", string nameB = "B")
    {
        var method = MethodOf(TestKind.Student);
        if (TooSmall(a, b) is { } why) return Undefined(TestKind.Student, alternative, method, a, b, why);
        var df = a.N + b.N - 2.0;
        var pooled = ((a.N - 1) * a.Variance + (b.N - 1) * b.Variance) / df;
        var se = Math.Sqrt(pooled * (1.0 / a.N + 1.0 / b.N));
        if (ZeroSpread(se, a, b, nameA, nameB) is { } constant) return Undefined(TestKind.Student, alternative, method, a, b, constant);
        return FromT(TestKind.Student, alternative, method, a, b, se, df, "pooled t");
    }

    /// <summary>Paired t-test on the differences A_i − B_i of matched pairs (df = pairs − 1). Hedges' g is still the
    /// between-arm effect size of the two samples, so it is comparable across tests.</summary>
    public static TestResult Paired(IReadOnlyList<(double A, double B)> pairs, Alternative alternative, string nameA = "A")
    {
        var method = MethodOf(TestKind.Paired);
        if (pairs.Count < 2)
            return new TestResult(TestKind.Paired, alternative, method, null, null, null,
                pairs.Count == 1 ? pairs[0].A - pairs[0].B : null, null, null, null, null, pairs.Count,
                [$"no test: {pairs.Count} matched pair{(pairs.Count == 1 ? "" : "s")} (a paired test needs at least 2)"]);
        var a = SampleSummary.Of(pairs.Select(p => p.A).ToList());
        var b = SampleSummary.Of(pairs.Select(p => p.B).ToList());
        var d = SampleSummary.Of(pairs.Select(p => p.A - p.B).ToList());
        var se = d.Sd / Math.Sqrt(d.N);
        var g = HedgesG(a, b);
        if (se == 0)
        {
            var note = d.Mean == 0
                ? "t undefined: every pair has the same difference 0 (no difference at all)"
                : $"t undefined: every pair differs by exactly {Fmt(d.Mean)} (zero spread of differences); {nameA} is {(d.Mean > 0 ? "higher" : "lower")} in every pair";
            return new TestResult(TestKind.Paired, alternative, method, null, null, null, d.Mean, null, null, null, g, d.N, [note]);
        }
        var df = d.N - 1.0;
        var t = d.Mean / se;
        var (lo, hi) = Ci(d.Mean, se, df);
        return new TestResult(TestKind.Paired, alternative, method, t, df, PFromT(t, df, alternative), d.Mean, lo, hi,
            "paired t", g, d.N, []);
    }

    /// <summary>Mann–Whitney U test; the statistic is U of A. Exact null distribution when there are no ties and one
    /// sample has at most 8 values, else the normal approximation with tie and continuity correction (as SciPy's
    /// "auto"). The CI reported beside it is Welch's CI of the mean difference (a rank test has none of its own here).</summary>
    public static TestResult MannWhitney(IReadOnlyList<double> a, IReadOnlyList<double> b, Alternative alternative, string nameA = "A", string nameB = "B")
    {
        int n1 = a.Count, n2 = b.Count;
        if (n1 < 2 || n2 < 2)
            return Undefined(TestKind.MannWhitney, alternative, MethodOf(TestKind.MannWhitney), Summ(a), Summ(b), SmallNote(n1, n2));
        var all = a.Concat(b).ToArray();
        var ranks = all.Ranks(RankDefinition.Average);
        var u1 = ranks.Take(n1).Sum() - n1 * (n1 + 1) / 2.0;
        var u2 = (double)n1 * n2 - u1;
        var u = alternative switch { Alternative.Greater => u1, Alternative.Less => u2, _ => Math.Max(u1, u2) };
        var factor = alternative == Alternative.TwoSided ? 2.0 : 1.0;
        var ties = all.GroupBy(x => x).Select(g => (double)g.Count()).Where(c => c > 1).ToList();
        var exact = ties.Count == 0 && (n1 <= 8 || n2 <= 8);
        var sa = SampleSummary.Of(a);
        var sb = SampleSummary.Of(b);
        var welch = Welch(sa, sb, alternative, nameA, nameB);
        var notes = new List<string>();
        double? p;
        string method;
        if (exact)
        {
            method = "Mann–Whitney U test (exact null distribution, no ties)";
            p = Math.Min(1.0, factor * ExactUpperTail(n1, n2, (int)Math.Round(u)));
        }
        else
        {
            method = "Mann–Whitney U test (normal approximation, tie and continuity corrected)";
            var n = (double)(n1 + n2);
            var tieTerm = ties.Sum(t => t * t * t - t);
            var sigma = Math.Sqrt(n1 * (double)n2 / 12.0 * (n + 1 - tieTerm / (n * (n - 1))));
            if (sigma == 0)
            {
                p = null;
                notes.Add("U test undefined: all values are equal (every value tied)");
            }
            else
                p = Math.Min(1.0, factor * Normal.CDF(0, 1, -(u - n1 * n2 / 2.0 - 0.5) / sigma));
        }
        notes.AddRange(welch.Notes.Select(n => "Welch CI: " + n));
        return new TestResult(TestKind.MannWhitney, alternative, method, u1, null, p, sa.Mean - sb.Mean,
            welch.CiLow, welch.CiHigh, welch.CiLow is null ? null : "Welch (of the mean difference)", HedgesG(sa, sb), null, notes);
    }

    /// <summary>Hedges' g: Cohen's d over the pooled sample sd, times the small-sample correction J = 1 − 3/(4·df − 1),
    /// df = nA + nB − 2. Null when it is undefined (n &lt; 2 in an arm, or both arms constant).</summary>
    public static double? HedgesG(SampleSummary a, SampleSummary b)
    {
        if (a.N < 2 || b.N < 2) return null;
        var df = a.N + b.N - 2.0;
        var pooledSd = Math.Sqrt(((a.N - 1) * a.Variance + (b.N - 1) * b.Variance) / df);
        if (pooledSd == 0) return null;
        var j = 1 - 3 / (4 * df - 1);
        return j * (a.Mean - b.Mean) / pooledSd;
    }

    /// <summary>p of the observed t under the chosen alternative (tails taken with the CDF on the small side, so tiny
    /// p-values keep their precision).</summary>
    public static double PFromT(double t, double df, Alternative alternative) => alternative switch
    {
        Alternative.Greater => StudentT.CDF(0, 1, df, -t),
        Alternative.Less => StudentT.CDF(0, 1, df, t),
        _ => Math.Min(1.0, 2 * StudentT.CDF(0, 1, df, -Math.Abs(t))),
    };

    /// <summary>P(U ≥ u) under H0 for sample sizes n1, n2 without ties: counts of rank arrangements by U, built with the
    /// recurrence f(i, j, k) = f(i − 1, j, k − j) + f(i, j − 1, k), divided by C(n1 + n2, n1).</summary>
    public static double ExactUpperTail(int n1, int n2, int u)
    {
        var max = n1 * n2;
        if (u <= 0) return 1.0;
        if (u > max) return 0.0;
        // counts[j][k]: arrangements of i A-values and j B-values with U = k; rolled over i.
        var counts = new double[n2 + 1][];
        for (var j = 0; j <= n2; j++) { counts[j] = new double[max + 1]; counts[j][0] = 1; }
        for (var i = 1; i <= n1; i++)
        {
            var next = new double[n2 + 1][];
            next[0] = new double[max + 1];
            next[0][0] = 1;
            for (var j = 1; j <= n2; j++)
            {
                next[j] = new double[max + 1];
                for (var k = 0; k <= i * j; k++)
                    next[j][k] = (k >= j ? counts[j][k - j] : 0) + next[j - 1][k];
            }
            counts = next;
        }
        var total = SpecialFunctions.Binomial(n1 + n2, n1);
        var tail = 0.0;
        for (var k = u; k <= max; k++) tail += counts[n2][k];
        return tail / total;
    }

    static TestResult FromT(TestKind kind, Alternative alternative, string method, SampleSummary a, SampleSummary b,
        double se, double df, string ciMethod)
    {
        var diff = a.Mean - b.Mean;
        var t = diff / se;
        var (lo, hi) = Ci(diff, se, df);
        return new TestResult(kind, alternative, method, t, df, PFromT(t, df, alternative), diff, lo, hi, ciMethod,
            HedgesG(a, b), null, []);
    }

    static (double Lo, double Hi) Ci(double diff, double se, double df)
    {
        var q = StudentT.InvCDF(0, 1, df, 1 - (1 - Confidence) / 2);
        return (diff - q * se, diff + q * se);
    }

    static string? TooSmall(SampleSummary a, SampleSummary b) => a.N < 2 || b.N < 2 ? SmallNote(a.N, b.N) : null;

    static string SmallNote(int na, int nb) =>
        $"no test: n = {na} vs {nb}; each arm needs at least 2 values to estimate its variance";

    static string? ZeroSpread(double se, SampleSummary a, SampleSummary b, string nameA, string nameB)
    {
        if (se > 0) return null;
        return a.Mean == b.Mean
            ? $"t undefined: both arms have zero variance and the same value {Fmt(a.Mean)}"
            : $"t undefined: both arms have zero variance; every {nameA} value ({Fmt(a.Mean)}) is {(a.Mean > b.Mean ? "above" : "below")} every {nameB} value ({Fmt(b.Mean)}), difference {Fmt(a.Mean - b.Mean)}";
    }

    static TestResult Undefined(TestKind kind, Alternative alternative, string method, SampleSummary? a, SampleSummary? b, string why)
    {
        double? diff = a is { N: > 0 } && b is { N: > 0 } ? a.Mean - b.Mean : null;
        double? g = a is not null && b is not null ? HedgesG(a, b) : null;
        return new TestResult(kind, alternative, method, null, null, null, diff, null, null, null, g, null, [why]);
    }

    static SampleSummary? Summ(IReadOnlyList<double> values) => values.Count == 0 ? null : SampleSummary.Of(values);

    static string Fmt(double x) => x.ToString("0.####", System.Globalization.CultureInfo.InvariantCulture);
}
