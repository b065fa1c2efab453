using MathNet.Numerics;
using MathNet.Numerics.Distributions;

namespace SamCluster.Reporting;

/// <summary>The noncentral t distribution's CDF, which MathNet.Numerics does not have; power analysis needs it
/// (<see cref="PowerAnalysis"/>).
/// <para>T = (Z + nc) / sqrt(V / df) with Z standard normal and V chi-squared on df degrees of freedom (df may be any
/// positive real, e.g. a Welch–Satterthwaite df). For t ≥ 0 (Guenther 1978; Lenth 1989, AS 243; Benton &amp;
/// Krishnamoorthy 2003, eq. 2.2):</para>
/// <code>
/// P(T ≤ t) = Φ(−nc) + ½ Σ_{i≥0} [ P_i · I_x(i + ½, df/2) + (nc/√2) · Q_i · I_x(i + 1, df/2) ]
///   x = t² / (t² + df),  y = nc² / 2,  P_i = e^{−y} y^i / i!,  Q_i = e^{−y} y^i / Γ(i + 3/2)
/// </code>
/// <para>I_x is the regularized incomplete beta function (MathNet's <c>BetaRegularized</c>), and for t &lt; 0
/// P(T ≤ t) = 1 − P(T ≤ −t) with nc negated. As Benton &amp; Krishnamoorthy do (and unlike AS 243, which starts at i = 0
/// and loses every term once e^{−y} underflows), the sum starts at the largest Poisson weight, i = ⌊y⌋, and runs
/// forward and backward from there with the weights computed in logs; each direction stops once a bound on all the terms
/// it has not added yet is below 1e-17 (see <see cref="SeriesTerms"/>). Every term is computed from scratch (no
/// recurrences between incomplete betas, whose errors would accumulate): slower (about 12·|nc| terms of two incomplete betas each), still well below a
/// millisecond for the noncentralities a power analysis meets (under about 30); |nc| is limited to
/// <see cref="MaxNoncentrality"/>. Agrees with scipy.stats.nct.cdf and .sf (Boost's) to 1e-12 or better for df up to 1000,
/// and to about 1e-10 at df 1e5–2e5, where MathNet's incomplete beta itself loses digits (tests).</para></summary>
public static class NoncentralT
{
    const double Epsilon = 1e-17;

    /// <summary>Largest |nc| accepted: the work grows with |nc|, and this is far beyond the noncentralities of a power
    /// analysis.</summary>
    public const double MaxNoncentrality = 10_000;

    /// <summary>P(T ≤ t) for T ~ noncentral t(df, nc); df &gt; 0 and finite, |nc| ≤ <see cref="MaxNoncentrality"/>.</summary>
    public static double Cdf(double t, double df, double nc)
    {
        CheckArguments(df, nc);
        if (double.IsNaN(t)) return double.NaN;
        if (double.IsPositiveInfinity(t)) return 1.0;
        if (double.IsNegativeInfinity(t)) return 0.0;
        if (nc == 0) return StudentT.CDF(0, 1, df, t);
        if (t < 0) return Clamp(1.0 - UpperHalf(-t, df, -nc));
        return Clamp(UpperHalf(t, df, nc));
    }

    /// <summary>P(T &gt; t), the upper tail: what a one-sided test's power is.</summary>
    public static double Sf(double t, double df, double nc)
    {
        CheckArguments(df, nc);
        if (double.IsNaN(t)) return double.NaN;
        if (double.IsPositiveInfinity(t)) return 0.0;
        if (double.IsNegativeInfinity(t)) return 1.0;
        if (nc == 0) return StudentT.CDF(0, 1, df, -t);
        // For t < 0, P(T > t) = P(−T < −t) and −T ~ noncentral t(df, −nc): the series then gives it directly.
        if (t < 0) return Clamp(UpperHalf(-t, df, -nc));
        return Clamp(1.0 - UpperHalf(t, df, nc));
    }

    static void CheckArguments(double df, double nc)
    {
        if (!(df > 0) || double.IsInfinity(df)) throw new ArgumentOutOfRangeException(nameof(df), df, "df must be positive and finite");
        if (!(Math.Abs(nc) <= MaxNoncentrality)) throw new ArgumentOutOfRangeException(nameof(nc), nc, $"|nc| must be at most {MaxNoncentrality}");
    }

    /// <summary>The series above for t ≥ 0 (any sign of nc).</summary>
    static double UpperHalf(double t, double df, double nc)
    {
        var normalPart = Normal.CDF(0, 1, -nc);
        if (t == 0) return normalPart;
        return normalPart + 0.5 * SeriesTerms(t * t / (t * t + df), df / 2, nc);
    }

    /// <summary>Σ_{i≥0} [P_i · I_x(i + ½, b) + sign(nc) · √y · Q_i · I_x(i + 1, b)], with (nc/√2) · Q_i written as
    /// sign(nc) · e^{−y} y^{i + ½} / Γ(i + 3/2).
    /// <para>Stopping bounds. Past the mode (i &gt; y) both weight sequences fall at least geometrically:
    /// P_{i+1}/P_i = y/(i+1) ≤ r and Q_{i+1}/Q_i = y/(i + 3/2) ≤ r with r = y/(i+1) &lt; 1, and I_x(a, b) falls as a
    /// grows, so everything after term i is at most (P_i + √y·Q_i) · I_x(i + ½, b) · r/(1 − r). Below the mode the weights
    /// fall going down: P_{j−1}/P_j = j/y and Q_{j−1}/Q_j = (j + ½)/y, both ≤ r = (i + ½)/y &lt; 1 for j ≤ i, and
    /// I_x ≤ 1, so everything before term i is at most (P_i + √y·Q_i) · r/(1 − r).</para></summary>
    static double SeriesTerms(double x, double b, double nc)
    {
        var y = nc * nc / 2;
        var logY = Math.Log(y);
        var sign = Math.Sign(nc);
        double LogP(int i) => -y + i * logY - SpecialFunctions.GammaLn(i + 1.0);
        double LogQ(int i) => -y + (i + 0.5) * logY - SpecialFunctions.GammaLn(i + 1.5);   // includes the √y

        var mode = (int)Math.Floor(y);
        var sum = 0.0;

        // Forward from the mode (the bound is met within about 9·√y terms, the Poisson weights' tail).
        for (var i = mode; ; i++)
        {
            double p = Math.Exp(LogP(i)), q = Math.Exp(LogQ(i));
            var iHalf = SpecialFunctions.BetaRegularized(i + 0.5, b, x);
            sum += p * iHalf + sign * q * SpecialFunctions.BetaRegularized(i + 1.0, b, x);
            if (i + 1 > y)
            {
                var r = y / (i + 1);
                if ((p + q) * iHalf * r / (1 - r) < Epsilon) break;
            }
        }

        // Backward from just below the mode.
        for (var i = mode - 1; i >= 0; i--)
        {
            double p = Math.Exp(LogP(i)), q = Math.Exp(LogQ(i));
            sum += p * SpecialFunctions.BetaRegularized(i + 0.5, b, x) + sign * q * SpecialFunctions.BetaRegularized(i + 1.0, b, x);
            var r = (i + 0.5) / y;
            if ((p + q) * r / (1 - r) < Epsilon) break;
        }
        return sum;
    }

    static double Clamp(double p) => Math.Clamp(p, 0.0, 1.0);
}
