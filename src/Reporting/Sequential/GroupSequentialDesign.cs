using System.Globalization;
using MathNet.Numerics.Distributions;
using MathNet.Numerics.RootFinding;

namespace SamCluster.Reporting.Sequential;

/// <summary>The Lan–DeMets alpha-spending families a design can use (rpact's typeOfDesign "asOF" and "asP").</summary>
public enum SpendingFamily { OBrienFleming, Pocock }

/// <summary>
/// A one-sided group-sequential design with efficacy boundaries from a Lan–DeMets alpha-spending function, as rpact's
/// <c>getDesignGroupSequential(kMax, alpha, sided = 1, typeOfDesign = "asOF" | "asP", informationRates)</c> computes it.
/// A value you can print before running anything: looks (repeats per arm at each look), their information rates
/// (looks / last look), the z-scale critical values, the nominal stage levels α_k = 1 − Φ(c_k) and the alpha spent up to
/// each look. Under H0 the z statistics of the looks are jointly normal with Cov(Z_j, Z_k) = √(t_j / t_k); the boundary
/// of look k makes P(no crossing before k, Z_k ≥ c_k) = α(t_k) − α(t_{k−1}), computed by numerical integration of the
/// density of the continuing paths (Armitage–McPherson–Rowe; Jennison &amp; Turnbull ch. 19).
/// </summary>
public sealed record GroupSequentialDesign(
    IReadOnlyList<int> Looks,
    double Alpha,
    SpendingFamily Spending,
    IReadOnlyList<double> InformationRates,
    IReadOnlyList<double> CriticalZ,
    IReadOnlyList<double> NominalAlpha,
    IReadOnlyList<double> CumulativeAlpha)
{
    /// <summary>The spending family's name as grids and the design command write it.</summary>
    public static string NameOf(SpendingFamily family) => family == SpendingFamily.OBrienFleming ? "obrien-fleming" : "pocock";

    public static SpendingFamily? Parse(string name) => name switch
    {
        "obrien-fleming" => SpendingFamily.OBrienFleming,
        "pocock" => SpendingFamily.Pocock,
        _ => null,
    };

    public string SpendingName => NameOf(Spending);

    public int LookCount => Looks.Count;

    /// <summary>The design of <paramref name="looks"/> (increasing repeats per arm) at one-sided level
    /// <paramref name="alpha"/>. Callers validate their inputs (the grid reader names the key); this throws on nonsense.</summary>
    public static GroupSequentialDesign Create(IReadOnlyList<int> looks, double alpha, SpendingFamily spending)
    {
        if (looks.Count == 0) throw new ArgumentException("a design needs at least one look", nameof(looks));
        for (var k = 1; k < looks.Count; k++)
            if (looks[k] <= looks[k - 1]) throw new ArgumentException("looks must increase", nameof(looks));
        if (looks[0] < 1) throw new ArgumentException("looks must be positive", nameof(looks));
        if (!(alpha > 0 && alpha < 0.5)) throw new ArgumentOutOfRangeException(nameof(alpha), "alpha must lie in (0, 0.5)");

        var rates = looks.Select(n => (double)n / looks[^1]).ToArray();
        var cumulative = rates.Select(t => Spent(spending, alpha, t)).ToArray();
        var critical = Boundaries(rates, cumulative);
        var nominal = critical.Select(c => Normal.CDF(0, 1, -c)).ToArray();
        return new GroupSequentialDesign(looks.ToArray(), alpha, spending, rates, critical, nominal, cumulative);
    }

    /// <summary>Alpha spent by information rate <paramref name="t"/> (0 &lt; t ≤ 1): O'Brien–Fleming type
    /// 2 − 2Φ(z_{1−α/2} / √t), Pocock type α ln(1 + (e − 1) t) (Lan &amp; DeMets 1983; rpact's asOF, asP).</summary>
    public static double Spent(SpendingFamily spending, double alpha, double t)
    {
        if (t >= 1) return alpha;
        return spending switch
        {
            SpendingFamily.OBrienFleming => 2 * Normal.CDF(0, 1, -Normal.InvCDF(0, 1, 1 - alpha / 2) / Math.Sqrt(t)),
            _ => alpha * Math.Log(1 + (Math.E - 1) * t),
        };
    }

    /// <summary>Points of the integration grid per look: Simpson's rule on a grid this fine keeps the crossing
    /// probabilities to about 1e-12, well inside the 1e-8 the stage levels are checked to.</summary>
    const int GridPoints = 4001;

    /// <summary>Where the continuation region is cut below: P(Z &lt; −12) is about 2e-33.</summary>
    const double Floor = -12;

    static double[] Boundaries(double[] rates, double[] cumulative)
    {
        var k = rates.Length;
        var critical = new double[k];
        critical[0] = Normal.InvCDF(0, 1, 1 - cumulative[0]);
        if (k == 1) return critical;

        var paths = Continuing.AtFirstLook(critical[0]);
        for (var look = 1; look < k; look++)
        {
            var (previous, current) = (rates[look - 1], rates[look]);
            var target = cumulative[look] - cumulative[look - 1];
            var from = paths;
            critical[look] = target <= 0
                ? double.PositiveInfinity
                : Brent.FindRoot(c => from.Crossing(previous, current, c) - target, -10, 40, 1e-12, 500);
            if (look == k - 1) break;
            paths = paths.Carry(previous, current, critical[look]);
        }
        return critical;
    }

    /// <summary>
    /// The stage-wise ordering p-value of a study that ends at look <paramref name="look"/> (1-based) with z statistic
    /// <paramref name="z"/> (Jennison &amp; Turnbull ch. 8; rpact's final p-value): the H0 probability of an outcome at least
    /// as extreme in that ordering — crossing an efficacy boundary at an earlier look, or reaching this look and seeing
    /// Z ≥ <paramref name="z"/>. Futility stops are non-binding and play no part. Equals the alpha spent before this look
    /// plus P(no crossing before it, Z_look ≥ z), by the same integration as the boundaries.
    /// </summary>
    public double StagewisePValue(int look, double z)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(look, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(look, LookCount);
        if (double.IsNaN(z)) throw new ArgumentException("z is NaN", nameof(z));
        if (look == 1) return Normal.CDF(0, 1, -z);
        var paths = Continuing.AtFirstLook(CriticalZ[0]);
        for (var j = 1; j < look - 1; j++)
            paths = paths.Carry(InformationRates[j - 1], InformationRates[j], CriticalZ[j]);
        var beyond = paths.Crossing(InformationRates[look - 2], InformationRates[look - 1], z);
        return Math.Min(1, CumulativeAlpha[look - 2] + beyond);
    }

    /// <summary>The paths that have not crossed by a look: Simpson points of (Floor, c) on the z scale and the probability
    /// mass of each (its weight times the density there). Carried forward look by look: under H0 the score Z·√t has
    /// independent normal increments with variance t_k − t_{k−1}.</summary>
    sealed class Continuing(double[] grid, double[] mass)
    {
        public static Continuing AtFirstLook(double upper)
        {
            var (grid, weights) = SimpsonGrid(Floor, Math.Min(upper, 40));
            return new Continuing(grid, grid.Select((z, j) => weights[j] * Normal.PDF(0, 1, z)).ToArray());
        }

        /// <summary>P(not crossed by the previous look, then Z ≥ c at the next) — decreasing in c.</summary>
        public double Crossing(double previousRate, double rate, double c)
        {
            var step = Math.Sqrt(rate - previousRate);
            var (scaledPrevious, scaledCurrent) = (Math.Sqrt(previousRate), Math.Sqrt(rate));
            var sum = 0.0;
            for (var j = 0; j < grid.Length; j++)
                sum += mass[j] * Normal.CDF(0, 1, -(c * scaledCurrent - grid[j] * scaledPrevious) / step);
            return sum;
        }

        /// <summary>The paths that have not crossed by the next look either, whose boundary is <paramref name="upper"/>.</summary>
        public Continuing Carry(double previousRate, double rate, double upper)
        {
            var step = Math.Sqrt(rate - previousRate);
            var (scaledPrevious, scaledCurrent) = (Math.Sqrt(previousRate), Math.Sqrt(rate));
            var (nextGrid, nextWeights) = SimpsonGrid(Floor, Math.Min(upper, 40));
            var nextMass = new double[nextGrid.Length];
            for (var i = 0; i < nextGrid.Length; i++)
            {
                var sum = 0.0;
                for (var j = 0; j < grid.Length; j++)
                    sum += mass[j] * Normal.PDF(0, 1, (nextGrid[i] * scaledCurrent - grid[j] * scaledPrevious) / step);
                nextMass[i] = nextWeights[i] * sum * scaledCurrent / step;
            }
            return new Continuing(nextGrid, nextMass);
        }
    }

    static (double[] Points, double[] Weights) SimpsonGrid(double from, double to)
    {
        var h = (to - from) / (GridPoints - 1);
        var points = new double[GridPoints];
        var weights = new double[GridPoints];
        for (var i = 0; i < GridPoints; i++)
        {
            points[i] = from + i * h;
            weights[i] = h / 3 * (i == 0 || i == GridPoints - 1 ? 1 : i % 2 == 1 ? 4 : 2);
        }
        return (points, weights);
    }

    /// <summary>The design as a table of looks, as `samcluster design` prints it.</summary>
    public string Describe()
    {
        var inv = CultureInfo.InvariantCulture;
        var lines = new List<string>
        {
            $"Group-sequential design: {LookCount} looks at {string.Join(", ", Looks)} repeats per arm; one-sided alpha {Alpha.ToString("0.####", inv)}; " +
            $"{SpendingName} alpha spending (Lan-DeMets)",
            "",
            "| Look | Repeats per arm | Information | Critical z | Nominal alpha | Cumulative alpha |",
            "| ---: | ---: | ---: | ---: | ---: | ---: |",
        };
        for (var k = 0; k < LookCount; k++)
            lines.Add($"| {k + 1} | {Looks[k]} | {InformationRates[k].ToString("0.####", inv)} | {CriticalZ[k].ToString("0.######", inv)} | " +
                      $"{NominalAlpha[k].ToString("0.########", inv)} | {CumulativeAlpha[k].ToString("0.########", inv)} |");
        return string.Join('\n', lines);
    }
}
