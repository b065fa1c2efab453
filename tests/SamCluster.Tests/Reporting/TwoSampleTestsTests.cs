using SamCluster.Reporting;
using Xunit;

namespace SamCluster.Tests.Reporting;

/// <summary>Reference figures from SciPy 1.10.1 (Debian python3-scipy), computed independently of this code by:
/// <code>
/// import numpy as np; from scipy import stats
/// alts = ["greater", "two-sided", "less"]
/// a, b = np.array(A), np.array(B); n1, n2 = len(a), len(b)
/// v1, v2 = a.var(ddof=1)/n1, b.var(ddof=1)/n2
/// dfw = (v1+v2)**2/(v1**2/(n1-1)+v2**2/(n2-1)); diff = a.mean()-b.mean(); qw = stats.t.ppf(0.975, dfw)
/// stats.ttest_ind(a, b, equal_var=False, alternative=x)          # Welch t, p
/// [diff-qw*np.sqrt(v1+v2), diff+qw*np.sqrt(v1+v2)]                # Welch 95% CI
/// stats.ttest_ind(a, b, alternative=x)                           # Student t, p
/// dfs = n1+n2-2; sp = np.sqrt(((n1-1)*a.var(ddof=1)+(n2-1)*b.var(ddof=1))/dfs); ses = sp*np.sqrt(1/n1+1/n2)
/// [diff-stats.t.ppf(0.975,dfs)*ses, diff+stats.t.ppf(0.975,dfs)*ses]   # Student 95% CI
/// (1-3/(4*dfs-1))*diff/sp                                         # Hedges' g
/// stats.mannwhitneyu(a, b, alternative=x)                         # U of a, p (method="auto")
/// stats.ttest_rel(a, b, alternative=x); d = a-b; q = stats.t.ppf(0.975, len(d)-1); se = d.std(ddof=1)/np.sqrt(len(d))
/// </code></summary>
public class TwoSampleTestsTests
{
    const double Tol = 1e-9;

    // Contains a tie (77.5 in both) -> Mann-Whitney uses the normal approximation.
    static readonly double[] EqualA = [78.1, 77.5, 79.0, 78.6, 77.9], EqualB = [77.2, 76.8, 77.5, 76.6, 77.3];
    static readonly double[] UnequalA = [99.41, 99.52, 99.38, 99.47, 99.50, 99.44, 99.39], UnequalB = [99.30, 99.45, 99.28, 99.36];
    static readonly double[] NegativeA = [1.2, 3.4, 2.2], NegativeB = [2.9, 3.1, 4.0, 3.6, 2.5, 3.3];

    static readonly Alternative[] Alternatives = [Alternative.Greater, Alternative.TwoSided, Alternative.Less];

    public static TheoryData<string> Sets() => ["equal", "unequal", "negative"];

    static (double[] A, double[] B) Data(string set) => set switch
    {
        "equal" => (EqualA, EqualB),
        "unequal" => (UnequalA, UnequalB),
        _ => (NegativeA, NegativeB),
    };

    record Expected(double WelchT, double WelchDf, double[] WelchP, double[] WelchCi, double StudentT, double[] StudentP,
        double[] StudentCi, double G, double U, double[] MannWhitneyP);

    static Expected Reference(string set) => set switch
    {
        "equal" => new Expected(3.6640987752393386, 6.732558306628955,
            [0.004297032794174913, 0.008594065588349825, 0.9957029672058251], [0.39833556882761645, 1.8816644311723563],
            3.6640987752393386, [0.0031817218053184614, 0.006363443610636923, 0.9968182781946816],
            [0.4225398890164076, 1.8574601109835651], 2.093117004158136,
            24.5, [0.007985348176890061, 0.015970696353780123, 0.995592070911049]),
        "unequal" => new Expected(2.2325646584057486, 4.794262712102655,
            [0.03911033408415226, 0.07822066816830452, 0.9608896659158477], [-0.016107517439659214, 0.20967894601109038],
            2.467502654382782, [0.017858154364003374, 0.03571630872800675, 0.9821418456359966],
            [0.008054504034109553, 0.1855169245373216], 1.4140243538288615,
            24.0, [0.03636363636363636, 0.07272727272727272, 0.9787878787878788]),
        _ => new Expected(-1.4396004593301919, 2.4726719258071275,
            [0.8681831340971693, 0.2636337318056614, 0.1318168659028307], [-3.386072134568585, 1.4527388012352507],
            -1.8505851785852871, [0.9466622738822817, 0.10667545223543665, 0.05333772611771832],
            [-2.201845392344517, 0.26851205901118247], -1.163165625725311,
            4.0, [0.9166666666666667, 0.26190476190476186, 0.13095238095238093]),
    };

    static void Near(double expected, double? actual, double tol = Tol)
    {
        Assert.NotNull(actual);
        Assert.InRange(actual!.Value, expected - tol, expected + tol);
    }

    [Theory, MemberData(nameof(Sets))]
    public void Welch_matches_scipy(string set)
    {
        var (a, b) = Data(set);
        var e = Reference(set);
        for (var i = 0; i < 3; i++)
        {
            var r = TwoSampleTests.Welch(SampleSummary.Of(a), SampleSummary.Of(b), Alternatives[i]);
            Near(e.WelchT, r.Statistic);
            Near(e.WelchDf, r.Df);
            Near(e.WelchP[i], r.PValue);
            Near(e.WelchCi[0], r.CiLow);
            Near(e.WelchCi[1], r.CiHigh);
            Near(e.G, r.HedgesG);
            Assert.Empty(r.Notes);
        }
    }

    [Theory, MemberData(nameof(Sets))]
    public void Student_matches_scipy(string set)
    {
        var (a, b) = Data(set);
        var e = Reference(set);
        for (var i = 0; i < 3; i++)
        {
            var r = TwoSampleTests.Student(SampleSummary.Of(a), SampleSummary.Of(b), Alternatives[i]);
            Near(e.StudentT, r.Statistic);
            Near(a.Length + b.Length - 2, r.Df);
            Near(e.StudentP[i], r.PValue);
            Near(e.StudentCi[0], r.CiLow);
            Near(e.StudentCi[1], r.CiHigh);
        }
    }

    [Theory, MemberData(nameof(Sets))]
    public void MannWhitney_matches_scipy_auto_method(string set)
    {
        var (a, b) = Data(set);
        var e = Reference(set);
        for (var i = 0; i < 3; i++)
        {
            var r = TwoSampleTests.MannWhitney(a, b, Alternatives[i]);
            Near(e.U, r.Statistic);
            Near(e.MannWhitneyP[i], r.PValue);
            Assert.Contains(set == "equal" ? "normal approximation" : "exact", r.Method);
        }
    }

    [Fact]
    public void MannWhitney_with_ties_and_with_large_samples_uses_the_corrected_normal_approximation()
    {
        // a = [1,2,2,3,5,5,6]; b = [2,3,3,4,4,1,0,2]  and  a = [11,14,19,22,25,28,31,35,40,42]; b = [10,12,13,15,16,18,20,21,23,24,26]
        double[] tiesA = [1, 2, 2, 3, 5, 5, 6], tiesB = [2, 3, 3, 4, 4, 1, 0, 2];
        double[] largeA = [11, 14, 19, 22, 25, 28, 31, 35, 40, 42], largeB = [10, 12, 13, 15, 16, 18, 20, 21, 23, 24, 26];
        double[] tiesP = [0.17355723718514465, 0.3471144743702893, 0.8549098367125831];
        double[] largeP = [0.02640375570805679, 0.05280751141611358, 0.9776203527122138];
        for (var i = 0; i < 3; i++)
        {
            var ties = TwoSampleTests.MannWhitney(tiesA, tiesB, Alternatives[i]);
            Near(36.5, ties.Statistic);
            Near(tiesP[i], ties.PValue);
            var large = TwoSampleTests.MannWhitney(largeA, largeB, Alternatives[i]);
            Near(83.0, large.Statistic);
            Near(largeP[i], large.PValue);
            Assert.Contains("normal approximation", large.Method);
        }
    }

    [Fact]
    public void Paired_matches_scipy_ttest_rel()
    {
        double[] p = [0.006370821632502993, 0.012741643265005986, 0.993629178367497];
        for (var i = 0; i < 3; i++)
        {
            var r = TwoSampleTests.Paired(EqualA.Zip(EqualB).ToList(), Alternatives[i]);
            Near(4.290446598121408, r.Statistic);
            Near(4, r.Df);
            Near(p[i], r.PValue);
            Near(0.40228019681881977, r.CiLow);
            Near(1.8777198031811815, r.CiHigh);
            Assert.Equal(5, r.Pairs);
        }
    }

    [Fact]
    public void Figure8_p_values_follow_from_its_rounded_summary_statistics()
    {
        // shared/reference/seed_figure8.csv, n = 5 per arm, Welch one-sided SAM > SGD. Its p-values are given to 3
        // decimals and its means/stds are rounded, so agreement within 0.001 is what "follows from" can mean.
        var fashion = TwoSampleTests.Welch(new SampleSummary(5, 99.440, 0.068), new SampleSummary(5, 99.384, 0.118), Alternative.Greater);
        var dogs = TwoSampleTests.Welch(new SampleSummary(5, 78.124, 0.887), new SampleSummary(5, 77.082, 0.425), Alternative.Greater);
        Near(0.196, fashion.PValue, 0.001);
        Near(0.028, dogs.PValue, 0.001);
        // scipy.stats.ttest_ind_from_stats(99.440,0.068,5,99.384,0.118,5,equal_var=False,alternative='greater') and the dogs row:
        Near(0.19561838588141042, fashion.PValue);
        Near(0.028731734567672473, dogs.PValue);
        // The other two rows do not follow (as the reference README says): stanford-dogs/resnet34 gives 0.047, not 0.031.
        var dogs34 = TwoSampleTests.Welch(new SampleSummary(5, 80.993, 0.519), new SampleSummary(5, 79.792, 1.215), Alternative.Greater);
        Assert.True(Math.Abs(dogs34.PValue!.Value - 0.031) > 0.01);
    }

    [Fact]
    public void An_arm_with_one_value_gets_no_test_and_says_why()
    {
        var r = TwoSampleTests.Welch(new SampleSummary(1, 80, 0), SampleSummary.Of(EqualB), Alternative.Greater, "sam", "sgd");
        Assert.Null(r.PValue);
        Assert.Null(r.Statistic);
        Assert.Null(r.HedgesG);
        Assert.Contains("at least 2", Assert.Single(r.Notes));
        Assert.Null(TwoSampleTests.MannWhitney([80.0], EqualB, Alternative.Greater).PValue);
        Assert.Null(TwoSampleTests.Paired([(1.0, 2.0)], Alternative.Greater).PValue);
    }

    [Fact]
    public void Zero_variance_in_both_arms_leaves_t_undefined_and_states_the_difference()
    {
        var same = TwoSampleTests.Welch(new SampleSummary(5, 100, 0), new SampleSummary(5, 100, 0), Alternative.Greater, "sam", "sgd");
        Assert.Null(same.PValue);
        Assert.Contains("same value", Assert.Single(same.Notes));
        var differ = TwoSampleTests.Student(new SampleSummary(5, 100, 0), new SampleSummary(5, 99, 0), Alternative.Greater, "sam", "sgd");
        Assert.Null(differ.PValue);
        Assert.Null(differ.HedgesG);
        Assert.Equal(1, differ.MeanDifference);
        Assert.Contains("every sam value (100) is above every sgd value (99)", Assert.Single(differ.Notes));
    }

    [Fact]
    public void Zero_variance_in_one_arm_is_still_a_welch_test()
    {
        var r = TwoSampleTests.Welch(new SampleSummary(5, 100, 0), SampleSummary.Of(EqualB), Alternative.Greater);
        Assert.NotNull(r.PValue);
        Near(4, r.Df);   // all variance from the other arm: Welch df = n − 1 of that arm
    }

    [Fact]
    public void Exact_U_tail_is_a_probability_distribution()
    {
        Assert.Equal(1.0, TwoSampleTests.ExactUpperTail(3, 4, 0));
        Assert.Equal(1.0 / 35, TwoSampleTests.ExactUpperTail(3, 4, 12), 12);   // only the arrangement with all A on top
        Assert.Equal(0.0, TwoSampleTests.ExactUpperTail(3, 4, 13));
    }

    [Fact]
    public void Holm_adjusts_a_known_example_and_skips_missing_p_values()
    {
        // p = 0.01, 0.04, 0.03, 0.005 (m = 4): sorted 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, max(0.04*1, 0.06) = 0.06.
        var adjusted = Holm.Adjust([0.01, 0.04, null, 0.03, 0.005]);
        Assert.Equal(5, adjusted.Length);
        Near(0.03, adjusted[0], 1e-15);
        Near(0.06, adjusted[1], 1e-15);
        Assert.Null(adjusted[2]);
        Near(0.06, adjusted[3], 1e-15);
        Near(0.02, adjusted[4], 1e-15);
        Assert.Equal(1.0, Holm.Adjust([0.6, 0.7])[0]);   // capped at 1
    }
}
