using System.Globalization;
using MathNet.Numerics.Distributions;
using MathNet.Numerics.RootFinding;

namespace SamCluster.Reporting;

/// <summary>Power figures of one comparison (difference = treatment − control, in percentage points of test accuracy).
/// <para><see cref="MdePp"/>: the minimum detectable difference at the current n — the smallest true difference, in the
/// direction of the alternative, that the report's test would find (p &lt; α) with 80 % power; a magnitude (≥ 0), so
/// for <c>less</c> it means treatment below control by that much, for <c>two-sided</c> either way.</para>
/// <para><see cref="NForPower80"/>: the repeats per arm (equal in both arms; pairs for the paired test) needed to detect
/// the observed difference with 80 % power, taking the arms' observed sds as the truth.</para>
/// <para>Each is null where it is undefined, and <see cref="Notes"/> then says why; <see cref="Notes"/> may also hold a
/// caveat about figures that are there (Mann–Whitney's are Welch's).</para></summary>
public sealed record PowerResult(double? MdePp, int? NForPower80, IReadOnlyList<string> Notes)
{
    /// <summary>The notes in one string (JSON's <c>power_note</c>), or null when there is nothing to say.</summary>
    public string? Note => Notes.Count == 0 ? null : string.Join("; ", Notes);
}

/// <summary>Power analysis of the t-tests the report runs, with α = 0.05 and 80 % power, on the same sidedness as the
/// test. Under a true difference δ the test statistic is noncentral t with noncentrality nc = δ / se:
/// <code>
/// one-sided power(δ) = P(T &gt; t_crit(1 − α, df)),                    T ~ noncentral t(df, nc = |δ| / se)
/// two-sided power(δ) = P(T &gt; t_crit(1 − α/2, df)) + P(T &lt; −t_crit(1 − α/2, df))
/// </code>
/// (one-sided <c>less</c> is the mirror image of <c>greater</c>: the same power for −δ). Per test:
/// <list type="bullet">
/// <item>Welch: se = √(s₁²/n₁ + s₂²/n₂), df Welch–Satterthwaite from the observed sds;</item>
/// <item>Student: pooled variance s_p², se = s_p·√(1/n₁ + 1/n₂), df = n₁ + n₂ − 2;</item>
/// <item>paired: sd of the differences s_d, se = s_d/√n, df = n − 1 (n = pairs);</item>
/// <item>Mann–Whitney: no closed form, so Welch's figures, with a note saying so.</item>
/// </list>
/// The minimum detectable difference solves power(δ) = 0.8 for nc (Brent) and is nc·se. The repeats for the observed
/// difference are the smallest integer n ≥ 2 per arm, n₁ = n₂ = n, with se and df recomputed at n from the same sds,
/// whose power reaches 0.8 — equivalently, whose minimum detectable difference is at most the observed one (power grows
/// with n: doubling, then bisection), searched up to <see cref="MaxRepeats"/>.</summary>
public static class PowerAnalysis
{
    public const double Alpha = 0.05;
    public const double TargetPower = 0.8;
    public const int MaxRepeats = 100_000;

    /// <summary>The figures for a comparison as <see cref="ReportBuilder"/> runs it: summaries of the two arms (Welch,
    /// Student, Mann–Whitney) or the matched pairs (paired).</summary>
    public static PowerResult For(TestKind test, Alternative alternative, SampleSummary? treatment, SampleSummary? control,
        IReadOnlyList<(double A, double B)>? pairs = null)
    {
        switch (test)
        {
            case TestKind.Welch: return Welch(treatment, control, alternative);
            case TestKind.Student: return Student(treatment, control, alternative);
            case TestKind.Paired: return Paired(pairs ?? [], alternative);
            default:
                var welch = Welch(treatment, control, alternative);
                return welch with { Notes = [MannWhitneyNote, .. welch.Notes] };
        }
    }

    /// <summary>Said wherever Mann–Whitney's power figures are shown.</summary>
    public const string MannWhitneyNote = "Mann–Whitney has no closed-form power: the power figures are Welch's t-test's " +
        "at the same n and sds (for normal data the rank test needs about 5 % more repeats, its relative efficiency being 3/π)";

    /// <summary>Welch's t-test: se and df from each arm's own sd and n.</summary>
    public static PowerResult Welch(SampleSummary? a, SampleSummary? b, Alternative alternative)
    {
        if (Missing(a, b) is { } missing) return missing;
        var (va, vb) = (a!.Variance, b!.Variance);
        if (va + vb == 0) return ZeroSpread(a.Mean - b.Mean);
        return Figures(a.Mean - b.Mean, alternative,
            seNow: Math.Sqrt(va / a.N + vb / b.N), dfNow: WelchDf(va, a.N, vb, b.N),
            atN: n => (Math.Sqrt((va + vb) / n), WelchDf(va, n, vb, n)));
    }

    /// <summary>Student's t-test: the pooled variance of the observed arms, df = n₁ + n₂ − 2.</summary>
    public static PowerResult Student(SampleSummary? a, SampleSummary? b, Alternative alternative)
    {
        if (Missing(a, b) is { } missing) return missing;
        var pooled = ((a!.N - 1) * a.Variance + (b!.N - 1) * b.Variance) / (a.N + b.N - 2.0);
        if (pooled == 0) return ZeroSpread(a.Mean - b.Mean);
        return Figures(a.Mean - b.Mean, alternative,
            seNow: Math.Sqrt(pooled * (1.0 / a.N + 1.0 / b.N)), dfNow: a.N + b.N - 2.0,
            atN: n => (Math.Sqrt(pooled * 2.0 / n), 2.0 * n - 2));
    }

    /// <summary>Paired t-test: the sd of the differences A_i − B_i, df = pairs − 1; "repeats per arm" are pairs.</summary>
    public static PowerResult Paired(IReadOnlyList<(double A, double B)> pairs, Alternative alternative)
    {
        if (pairs.Count < 2)
            return new PowerResult(null, null,
                [$"no power figures: {pairs.Count} matched pair{(pairs.Count == 1 ? "" : "s")} (at least 2 are needed to estimate the spread)"]);
        var d = SampleSummary.Of(pairs.Select(p => p.A - p.B).ToList());
        if (d.Sd == 0)
            return new PowerResult(null, null,
                ["no power figures: every pair has the same difference (zero spread of differences), so power is not defined"]);
        return Figures(d.Mean, alternative,
            seNow: d.Sd / Math.Sqrt(d.N), dfNow: d.N - 1.0,
            atN: n => (d.Sd / Math.Sqrt(n), n - 1.0));
    }

    /// <summary>Power of a t-test at noncentrality nc (true difference / se), signed so that nc &gt; 0 is the direction of
    /// the alternative for one-sided tests (two-sided is symmetric in nc).</summary>
    public static double Power(double nc, double df, Alternative alternative)
    {
        if (alternative == Alternative.TwoSided)
        {
            var q = TQuantile(df, 1 - Alpha / 2);
            return NoncentralT.Sf(q, df, nc) + NoncentralT.Cdf(-q, df, nc);
        }
        return NoncentralT.Sf(TQuantile(df, 1 - Alpha), df, nc);
    }

    /// <summary>The central t quantile t_crit, p in (0.5, 1): MathNet's StudentT.InvCDF (a root search, good to about
    /// 1e-12) polished by two Newton steps on its CDF, so it is right to double precision (2.131846786326650 for df = 4,
    /// p = 0.95). SciPy 1.10's t.ppf (cdflib) is off by up to about 1e-8 there (2.13184678134), so the test's SciPy
    /// reference polishes its quantiles the same way.</summary>
    public static double TQuantile(double df, double p)
    {
        var x = StudentT.InvCDF(0, 1, df, p);
        for (var i = 0; i < 2; i++)
            x -= (StudentT.CDF(0, 1, df, x) - p) / StudentT.PDF(0, 1, df, x);
        return x;
    }

    /// <summary>The noncentrality nc ≥ 0 at which <see cref="Power"/> is exactly 0.8 (nc &gt; 0 in the direction of the
    /// alternative).</summary>
    public static double NoncentralityForPower(double df, Alternative alternative)
    {
        double F(double nc) => Power(nc, df, alternative) - TargetPower;
        var upper = 4.0;
        while (F(upper) < 0) upper *= 2;   // power → 1 as nc → ∞; F(0) = α − 0.8 < 0
        return Brent.FindRoot(F, 0, upper, 1e-12, 200);
    }

    /// <summary>Welch–Satterthwaite df from the two variances and sizes (one variance may be 0, not both).</summary>
    public static double WelchDf(double va, double na, double vb, double nb)
    {
        double sa = va / na, sb = vb / nb;
        return (sa + sb) * (sa + sb) / (sa * sa / (na - 1) + sb * sb / (nb - 1));
    }

    static PowerResult Figures(double observed, Alternative alternative, double seNow, double dfNow,
        Func<int, (double Se, double Df)> atN)
    {
        var notes = new List<string>();
        var mde = NoncentralityForPower(dfNow, alternative) * seNow;
        // The observed difference in the direction of the alternative: what the repeats must detect.
        var toward = alternative switch { Alternative.Greater => observed, Alternative.Less => -observed, _ => Math.Abs(observed) };
        int? repeats = null;
        if (observed == 0)
            notes.Add("no repeats figure: the observed difference is 0, there is no difference to detect");
        else if (toward < 0)
            notes.Add($"no repeats figure: the observed difference {Pp(observed)} pp is not in the direction of the alternative ({ReportOptions.Name(alternative)}), so no number of repeats gives 80 % power to detect it");
        else
        {
            // Power at n reaches 0.8 exactly when the noncentrality of the observed difference, toward / se(n), reaches
            // the one that gives 0.8 power at df(n): the same solve as the MDE, so the t distribution is never
            // evaluated far out (a large effect at n = 2 would otherwise mean a noncentrality in the hundreds).
            bool Enough(int n) { var (se, df) = atN(n); return toward / se >= NoncentralityForPower(df, alternative); }
            repeats = SmallestN(Enough);
            if (repeats is null)
                notes.Add($"no repeats figure: more than {MaxRepeats.ToString(CultureInfo.InvariantCulture)} repeats per arm would be needed to detect the observed {Pp(observed)} pp with 80 % power");
        }
        return new PowerResult(mde, repeats, notes);
    }

    /// <summary>Smallest n in [2, MaxRepeats] with enough(n), for a monotone enough; null when even MaxRepeats is not.</summary>
    static int? SmallestN(Func<int, bool> enough)
    {
        if (enough(2)) return 2;
        int low = 2, high = 4;                       // enough(low) is false
        while (!enough(high))
        {
            if (high >= MaxRepeats) return null;
            low = high;
            high = Math.Min(MaxRepeats, high * 2);
        }
        while (high - low > 1)                        // enough(high) is true, enough(low) false
        {
            var mid = low + (high - low) / 2;
            if (enough(mid)) high = mid; else low = mid;
        }
        return high;
    }

    static PowerResult? Missing(SampleSummary? a, SampleSummary? b)
    {
        if (a is null || b is null || a.N == 0 || b.N == 0)
            return new PowerResult(null, null, ["no power figures: an arm has no completed trials"]);
        if (a.N < 2 || b.N < 2)
            return new PowerResult(null, null,
                [$"no power figures: n = {a.N} vs {b.N}; each arm needs at least 2 values to estimate its spread"]);
        return null;
    }

    static PowerResult ZeroSpread(double observed) =>
        new(null, null,
            [$"no power figures: both arms have zero variance (observed difference {Pp(observed)} pp), so power is not defined"]);

    internal static string Pp(double x) =>
        (x > 0 ? "+" : "") + x.ToString("0.000", CultureInfo.InvariantCulture);
}
