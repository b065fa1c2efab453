using System.Diagnostics;
using System.Globalization;
using MathNet.Numerics.Distributions;
using SamCluster.Reporting.Sequential;
using Xunit;
using Xunit.Abstractions;

namespace SamCluster.Tests.Reporting;

/// <summary>Group-sequential boundaries: their defining properties here, and rpact (Debian's r-cran-rpact, the
/// reference) recomputed now on designs chosen without looking at our figures.</summary>
public sealed class GroupSequentialDesignTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(SpendingFamily.OBrienFleming)]
    [InlineData(SpendingFamily.Pocock)]
    public void One_look_is_the_fixed_design(SpendingFamily family)
    {
        var design = GroupSequentialDesign.Create([30], 0.05, family);
        Assert.Equal(Normal.InvCDF(0, 1, 0.95), design.CriticalZ[0], 12);
        Assert.Equal(0.05, design.NominalAlpha[0], 12);
        Assert.Equal(0.05, design.CumulativeAlpha[0], 12);
    }

    [Fact]
    public void Spending_ends_at_alpha_and_grows_with_information()
    {
        foreach (var family in new[] { SpendingFamily.OBrienFleming, SpendingFamily.Pocock })
        {
            Assert.Equal(0.025, GroupSequentialDesign.Spent(family, 0.025, 1.0), 15);
            var spent = Enumerable.Range(1, 20).Select(i => GroupSequentialDesign.Spent(family, 0.025, i / 20.0)).ToList();
            Assert.Equal(spent.Order(), spent);
        }
        // O'Brien–Fleming spends almost nothing early; Pocock about evenly.
        Assert.True(GroupSequentialDesign.Spent(SpendingFamily.OBrienFleming, 0.05, 0.2) < 1e-4);
        Assert.True(GroupSequentialDesign.Spent(SpendingFamily.Pocock, 0.05, 0.2) > 0.01);
    }

    [Fact]
    public void Boundaries_spend_exactly_the_alpha_of_each_look_under_h0()
    {
        // Monte Carlo of the canonical joint distribution (independent increments): the overall crossing rate is alpha.
        var design = GroupSequentialDesign.Create([5, 10, 20, 30], 0.05, SpendingFamily.Pocock);
        var random = new Random(11);
        const int Studies = 200_000;
        var crossed = 0;
        for (var s = 0; s < Studies; s++)
        {
            var sum = 0.0;
            var previous = 0.0;
            for (var k = 0; k < design.LookCount; k++)
            {
                var t = design.InformationRates[k];
                sum += Math.Sqrt(t - previous) * Normal.Sample(random, 0, 1);
                previous = t;
                if (sum / Math.Sqrt(t) >= design.CriticalZ[k]) { crossed++; break; }
            }
        }
        var rate = (double)crossed / Studies;
        var se = Math.Sqrt(0.05 * 0.95 / Studies);
        Assert.InRange(rate, 0.05 - 4 * se, 0.05 + 4 * se);
    }

    [Fact]
    public void Nominal_levels_are_the_critical_values_upper_tails_and_increase_for_obrien_fleming()
    {
        var design = GroupSequentialDesign.Create([5, 10, 20, 30], 0.05, SpendingFamily.OBrienFleming);
        for (var k = 0; k < 4; k++) Assert.Equal(1 - Normal.CDF(0, 1, design.CriticalZ[k]), design.NominalAlpha[k], 12);
        Assert.Equal(design.CriticalZ.OrderDescending(), design.CriticalZ);
        Assert.True(design.NominalAlpha[^1] < 0.05);   // the last look pays for the earlier ones
    }

    [Fact]
    public void Describe_names_every_look()
    {
        var text = GroupSequentialDesign.Create([2, 4], 0.05, SpendingFamily.Pocock).Describe();
        Assert.Contains("2 looks at 2, 4 repeats per arm", text);
        Assert.Contains("pocock", text);
        Assert.Equal(2, text.Split('\n').Count(l => l.StartsWith("| 1 |") || l.StartsWith("| 2 |")));
    }

    /// <summary>With two looks the crossing probability is one integral: P(Z_1 &lt; c_1, Z_2 ≥ c_2) =
    /// ∫ φ(z) (1 − Φ((c_2 − ρz) / √(1 − ρ²))) dz over z &lt; c_1, ρ = √(t_1 / t_2). Adaptive Gauss–Kronrod quadrature of it
    /// (independent of the design's grid recursion) equals the alpha the design spends at look 2 to 1e-11.</summary>
    [Theory]
    [InlineData(10, 11, 0.01, SpendingFamily.OBrienFleming)]
    [InlineData(2, 4, 0.05, SpendingFamily.OBrienFleming)]
    [InlineData(3, 30, 0.2, SpendingFamily.Pocock)]
    [InlineData(5, 6, 0.025, SpendingFamily.Pocock)]
    public void Two_look_boundaries_spend_their_alpha_exactly(int first, int last, double alpha, SpendingFamily family)
    {
        var design = GroupSequentialDesign.Create([first, last], alpha, family);
        var rho = Math.Sqrt(design.InformationRates[0]);
        var (c1, c2) = (design.CriticalZ[0], design.CriticalZ[1]);
        var crossing = MathNet.Numerics.Integration.GaussKronrodRule.Integrate(
            z => Normal.PDF(0, 1, z) * Normal.CDF(0, 1, -(c2 - rho * z) / Math.Sqrt(1 - rho * rho)), -14, c1, out _, out _, 1e-14);
        Assert.Equal(design.CumulativeAlpha[1] - design.CumulativeAlpha[0], crossing, 11);
    }

    /// <summary>Designs chosen to cover both families, 2 to 6 looks, equal and unequal spacing and alphas from 0.01 to
    /// 0.2 — not tuned to our figures.</summary>
    public static readonly (int[] Looks, double Alpha, SpendingFamily Family)[] ReferenceDesigns =
    [
        ([5, 10, 20, 30], 0.05, SpendingFamily.OBrienFleming),
        ([5, 10, 20, 30], 0.05, SpendingFamily.Pocock),
        ([2, 4], 0.05, SpendingFamily.OBrienFleming),
        ([3, 6, 9], 0.025, SpendingFamily.Pocock),
        ([3, 6, 9], 0.025, SpendingFamily.OBrienFleming),
        ([2, 3, 5, 8, 13, 21], 0.1, SpendingFamily.Pocock),
        ([10, 11], 0.01, SpendingFamily.OBrienFleming),
        ([4, 7, 40], 0.2, SpendingFamily.Pocock),
        ([2, 3, 4, 5, 6], 0.05, SpendingFamily.OBrienFleming),
    ];

    /// <summary>Critical values to 1e-6 relative and stage levels to 1e-8 relative of rpact's, recomputed now — or, where
    /// rpact's own figure is not that exact, to within its documented tolerance (1e-8). rpact is asked for its tightest
    /// tolerance (1e-10): that bounds the error of the alpha it spends per look, but not of its integration, which on
    /// close looks is coarser: for O'Brien–Fleming 10, 11 at 0.01 its second boundary spends 6.7e-9 more than the design
    /// allows (adaptive quadrature of the bivariate normal, scipy: ours 2e-15 off; see
    /// <see cref="Two_look_boundaries_spend_their_alpha_exactly"/>), which moves the stage level by 9.4e-9.</summary>
    internal const double RpactTolerance = 1e-10;

    [SkippableFact]
    public void Rpact_recomputed_now_agrees()
    {
        var rscript = Rpact.Rscript();
        Skip.If(rscript is null, "no Rscript with rpact here (apt-get install -y r-cran-rpact)");
        var worstZ = 0.0;
        var worstLevel = 0.0;
        var references = Rpact.Designs(rscript!, ReferenceDesigns);   // one R process for all: R and rpact start slowly
        Assert.Equal(ReferenceDesigns.Length, references.Count);
        foreach (var ((looks, alpha, family), (critical, levels)) in ReferenceDesigns.Zip(references))
        {
            var ours = GroupSequentialDesign.Create(looks, alpha, family);
            for (var k = 0; k < looks.Length; k++)
            {
                var relZ = Math.Abs(ours.CriticalZ[k] - critical[k]) / Math.Abs(critical[k]);
                var relLevel = Math.Abs(ours.NominalAlpha[k] - levels[k]) / levels[k];
                worstZ = Math.Max(worstZ, relZ);
                worstLevel = Math.Max(worstLevel, relLevel);
                var name = $"{GroupSequentialDesign.NameOf(family)} looks {string.Join(',', looks)} alpha {alpha}, look {k + 1}";
                Assert.True(relZ < 1e-6, $"{name}: critical z {ours.CriticalZ[k]:R}, rpact {critical[k]:R}");
                Assert.True(relLevel < 1e-8 || Math.Abs(ours.NominalAlpha[k] - levels[k]) < 1e-8,
                    $"{name}: stage level {ours.NominalAlpha[k]:R}, rpact {levels[k]:R}");
            }
        }
        output.WriteLine($"worst relative difference from rpact over {ReferenceDesigns.Length} designs: critical z {worstZ:E2}, stage levels {worstLevel:E2}");
    }
}

/// <summary>rpact through Rscript, when it is installed.</summary>
static class Rpact
{
    /// <summary>The Rscript that has rpact, or null; looked for once per test run (each try starts R, which is slow).</summary>
    public static string? Rscript() => Found.Value;

    static readonly Lazy<string?> Found = new(Find);

    static string? Find()
    {
        foreach (var candidate in new[] { "/usr/bin/Rscript", "Rscript" })
        {
            try
            {
                var (code, _, _) = Run(candidate, "suppressMessages(library(rpact)); cat('ok')");
                if (code == 0) return candidate;
            }
            catch (System.ComponentModel.Win32Exception)
            {
            }
        }
        return null;
    }

    /// <summary>rpact's critical values and stage levels of each design, computed in one Rscript run.</summary>
    public static List<(double[] Critical, double[] StageLevels)> Designs(string rscript, IEnumerable<(int[] Looks, double Alpha, SpendingFamily Family)> designs)
    {
        var inv = CultureInfo.InvariantCulture;
        var script = new System.Text.StringBuilder("suppressMessages(library(rpact)); ");
        foreach (var (looks, alpha, family) in designs)
        {
            var type = family == SpendingFamily.OBrienFleming ? "asOF" : "asP";
            script.Append($"d <- getDesignGroupSequential(kMax = {looks.Length}, alpha = {alpha.ToString("R", inv)}, sided = 1, " +
                          $"typeOfDesign = '{type}', informationRates = c({string.Join(", ", looks)}) / {looks[^1]}, " +
                          $"tolerance = {GroupSequentialDesignTests.RpactTolerance.ToString("R", inv)}); " +
                          "cat(sprintf('%.17g', d$criticalValues), '\\n'); cat(sprintf('%.17g', d$stageLevels), '\\n'); ");
        }
        var lines = Output(rscript, script.ToString()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        static double[] Numbers(string line) =>
            line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        return Enumerable.Range(0, lines.Length / 2).Select(i => (Numbers(lines[2 * i]), Numbers(lines[2 * i + 1]))).ToList();
    }

    /// <summary>What <paramref name="script"/> prints, run by one Rscript process; fails the test when R fails.</summary>
    public static string Output(string rscript, string script)
    {
        var (code, stdout, stderr) = Run(rscript, script);
        Assert.True(code == 0, $"Rscript exited {code}: {stderr}");
        return stdout;
    }

    static (int Code, string Stdout, string Stderr) Run(string rscript, string script)
    {
        var info = new ProcessStartInfo(rscript) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("-e");
        info.ArgumentList.Add(script);
        using var process = Process.Start(info)!;
        var errors = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout, errors.Result);
    }
}
