using MathNet.Numerics.Distributions;
using SamCluster.Experiment;
using SamCluster.Reporting;
using SamCluster.Reporting.Sequential;
using Xunit;
using Xunit.Abstractions;

namespace SamCluster.Tests.SequentialStudies;

/// <summary>The rule a look follows, on figures worked by hand, and its error control in simulation.</summary>
public sealed class SequentialRuleTests(ITestOutputHelper output)
{
    static SequentialRule Rule(int[] looks, string spending = SequentialPlan.OBrienFleming, double? margin = null, string test = SequentialPlan.Welch,
        double alpha = 0.05) => SequentialRule.For(new SequentialPlan(looks, alpha, spending, margin, test));

    [Fact]
    public void Efficacy_when_the_welch_p_is_at_most_the_looks_nominal_level()
    {
        var rule = Rule([3, 6]);
        double[] sam = [92.0, 92.5, 93.0], sgd = [90.0, 90.4, 90.2];
        var look = rule.Decide(1, sam, sgd);
        // Welch by hand: means 92.5 and 90.2, variances 0.25 and 0.04, se = sqrt(0.25/3 + 0.04/3).
        var se = Math.Sqrt(0.25 / 3 + 0.04 / 3);
        var df = Math.Pow(0.25 / 3 + 0.04 / 3, 2) / (Math.Pow(0.25 / 3, 2) / 2 + Math.Pow(0.04 / 3, 2) / 2);
        Assert.Equal(2.3 / se, look.Statistic!.Value, 10);
        Assert.Equal(df, look.Df!.Value, 10);
        Assert.Equal(StudentT.CDF(0, 1, df, -2.3 / se), look.PValue!.Value, 12);
        Assert.Equal(rule.Design.NominalAlpha[0], look.NominalAlpha);
        Assert.Equal(look.PValue <= look.NominalAlpha ? LookDecision.Efficacy : LookDecision.Continue, look.Decision);
        var q = StudentT.InvCDF(0, 1, df, 1 - look.NominalAlpha);
        Assert.Equal(2.3 - q * se, look.RepeatedCi!.Value.Low, 10);
        Assert.Equal(2.3 + q * se, look.RepeatedCi!.Value.High, 10);
    }

    [Fact]
    public void Continue_then_not_shown_at_the_last_look()
    {
        var rule = Rule([2, 4]);
        double[] sam = [90.0, 91.0, 90.4, 90.6], sgd = [90.2, 90.9, 90.5, 90.3];
        Assert.Equal(LookDecision.Continue, rule.Decide(1, sam, sgd).Decision);
        var last = rule.Decide(2, sam, sgd);
        Assert.Equal(LookDecision.NotShown, last.Decision);
        Assert.Equal("look 2 of 2: not shown", last.Describe("SAM", null));
    }

    [Fact]
    public void Futility_when_the_repeated_upper_bound_is_below_the_margin_and_only_with_a_margin()
    {
        // SAM clearly no better (−1 pp, tight): the upper bound stays below a 0.2 pp margin.
        double[] sam = [89.0, 89.1, 89.05, 88.95, 89.0], sgd = [90.0, 90.1, 90.05, 89.95, 90.0];
        var withMargin = Rule([5, 10], margin: 0.2).Decide(1, sam, sgd);
        Assert.Equal(LookDecision.Futility, withMargin.Decision);
        Assert.True(withMargin.RepeatedCi!.Value.High < 0.2);
        Assert.Equal("stopped at look 1: gain < 0.2 pp", withMargin.Describe("SAM", 0.2));
        Assert.Equal(LookDecision.Continue, Rule([5, 10]).Decide(1, sam, sgd).Decision);
    }

    [Fact]
    public void Paired_uses_the_repeats_differences()
    {
        double[] sam = [90.3, 91.2, 89.9], sgd = [90.0, 91.0, 89.5];
        var look = Rule([3, 6], test: SequentialPlan.Paired).Decide(1, sam, sgd);
        double[] d = [0.3, 0.2, 0.4];
        var se = Math.Sqrt(0.01) / Math.Sqrt(3);   // sd of the differences is 0.1
        Assert.Equal(2.0, look.Df!.Value, 12);
        Assert.Equal(d.Average() / se, look.Statistic!.Value, 9);
    }

    [Fact]
    public void No_spread_is_no_evidence()
    {
        var look = Rule([2, 4]).Decide(1, [90, 90], [90, 90]);
        Assert.Equal(LookDecision.Continue, look.Decision);
        Assert.Null(look.PValue);
    }

    /// <summary>The Welch-t rule at small n holds its type-I error: 20,000 simulated studies under H0 at looks 3, 6, 9
    /// (and 2, 4) stay within alpha + 3 standard errors, for both spending families.</summary>
    [Theory]
    [InlineData(new[] { 3, 6, 9 }, SequentialPlan.OBrienFleming)]
    [InlineData(new[] { 3, 6, 9 }, SequentialPlan.Pocock)]
    [InlineData(new[] { 2, 4 }, SequentialPlan.Pocock)]
    [InlineData(new[] { 5, 10, 20, 30 }, SequentialPlan.OBrienFleming)]
    public void Type_one_error_stays_within_alpha_plus_three_standard_errors(int[] looks, string spending)
    {
        var result = SequentialSimulation.Run(Rule(looks, spending), 20_000, effectPp: 0, sdPp: 1, seed: 3);
        output.WriteLine($"looks {string.Join(',', looks)} {spending}: type-I error {result.EfficacyRate:F4} (SE {result.StandardError:F4}), expected repeats {result.ExpectedRepeatsPerArm:F2}");
        Assert.True(result.EfficacyRate <= 0.05 + 3 * Math.Sqrt(0.05 * 0.95 / 20_000), $"type-I error {result.EfficacyRate:F4}");
        Assert.Equal(1.0, result.StoppedAtLook.Sum(), 12);
    }

    [Fact]
    public void A_large_effect_stops_early_and_saves_repeats()
    {
        var result = SequentialSimulation.Run(Rule([5, 10, 20, 30], SequentialPlan.Pocock), 2_000, effectPp: 1.04, sdPp: 0.89, seed: 5, controlSdPp: 0.43);
        Assert.True(result.EfficacyRate > 0.99);
        Assert.True(result.ExpectedRepeatsPerArm < 15, $"expected repeats {result.ExpectedRepeatsPerArm}");
    }

    [Fact]
    public void A_two_sided_alternative_is_refused()
    {
        Assert.Throws<ArgumentException>(() => SequentialRule.For(new SequentialPlan([2, 4], 0.05, SequentialPlan.Pocock, null, SequentialPlan.Welch), Alternative.TwoSided));
    }
}
