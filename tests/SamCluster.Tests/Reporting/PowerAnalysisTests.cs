using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using SamCluster.Reporting;
using Xunit;

namespace SamCluster.Tests.Reporting;

/// <summary>The noncentral t CDF and the power figures against SciPy. The embedded figures are the output of
/// <see cref="Script"/> with SciPy 1.10.1 (Debian python3-scipy; scipy.stats.nct is Boost's there) on the inputs below;
/// <see cref="Scipy_recomputed_now_agrees"/> runs that script again when a python3 with scipy is here (and a larger grid),
/// and says it skipped when there is none. Tolerances: 1e-9 on probabilities; against the embedded figures 1e-8 pp on the
/// minimum detectable difference and the repeats exactly, against a SciPy run now (which may be another version) 1e-3 pp
/// and 1 repeat. Measured with SciPy 1.10.1: at most 1.0e-10 on probabilities (at df 1e5–2e5; 1e-12 or better up to
/// df 1000) and 9e-13 pp, every repeats figure equal.</summary>
public class PowerAnalysisTests
{
    const double CdfTol = 1e-9, MdeTol = 1e-3;

    /// <summary>Reads {"grid": [[x, df, nc], ...], "cases": [...]} on stdin; prints scipy.stats.nct's cdf and sf on the
    /// grid and, per case, the minimum detectable difference (Brent on the noncentrality, then times se) and the repeats
    /// per arm for the observed difference, found by trying every n from 2 in turn.</summary>
    public const string Script = """
        import json, sys, warnings
        import numpy as np
        from scipy import stats, optimize
        warnings.simplefilter("ignore")   # Boost's nct warns at nc = 0 while returning finite values
        ALPHA, TARGET, CAP = 0.05, 0.8, 100000
        def t_crit(p, df):   # scipy 1.10's t.ppf is off by up to ~1e-8; two Newton steps on t.cdf (exact) fix that
            q = stats.t.ppf(p, df)
            for _ in range(2):
                q = q - (stats.t.cdf(q, df) - p) / stats.t.pdf(q, df)
            return q
        def power(nc, df, alt):
            if alt == "two-sided":
                q = t_crit(1 - ALPHA / 2, df)
                p = stats.nct.sf(q, df, nc) + stats.nct.cdf(-q, df, nc)
            else:
                p = stats.nct.sf(t_crit(1 - ALPHA, df), df, nc)
            assert np.all(np.isfinite(p))
            return p
        def welch_df(va, na, vb, nb):
            return (va / na + vb / nb) ** 2 / ((va / na) ** 2 / (na - 1) + (vb / nb) ** 2 / (nb - 1))
        def figures(case):
            alt = case["alt"]
            if case["kind"] == "paired":           # a = (n, mean, sd) of the differences
                n, m, s = case["a"]
                se, df, obs = s / np.sqrt(n), n - 1.0, m
                at = lambda k: (s / np.sqrt(k), k - 1.0)
            else:
                (na, ma, sa), (nb, mb, sb) = case["a"], case["b"]
                va, vb, obs = sa * sa, sb * sb, ma - mb
                if case["kind"] == "student":
                    sp2 = ((na - 1) * va + (nb - 1) * vb) / (na + nb - 2)
                    se, df = np.sqrt(sp2 * (1 / na + 1 / nb)), na + nb - 2.0
                    at = lambda k: (np.sqrt(sp2 * 2 / k), 2.0 * k - 2)
                else:                               # welch, and mann-whitney (which reports welch's figures)
                    se, df = np.sqrt(va / na + vb / nb), welch_df(va, na, vb, nb)
                    at = lambda k: (np.sqrt((va + vb) / k), welch_df(va, k, vb, k))
            nc = optimize.brentq(lambda x: power(x, df, alt) - TARGET, 0, 200, xtol=1e-14, rtol=1e-15)
            toward = {"greater": obs, "less": -obs}.get(alt, abs(obs))
            needed = None
            if toward > 0:
                for start in range(2, CAP + 1, 20000):
                    k = np.arange(start, min(start + 20000, CAP + 1), dtype=float)
                    sek, dfk = at(k)
                    ok = np.nonzero(power(toward / sek, dfk, alt) >= TARGET)[0]
                    if len(ok):
                        needed = int(k[ok[0]])
                        break
            return {"mde": nc * se, "n": needed}
        req = json.load(sys.stdin)
        grid = req.get("grid", [])
        print(json.dumps({"cdf": [float(stats.nct.cdf(x, df, nc)) for x, df, nc in grid],
                          "sf": [float(stats.nct.sf(x, df, nc)) for x, df, nc in grid],
                          "cases": [figures(c) for c in req.get("cases", [])]}))
        """;

    // Test accuracies from TwoSampleTestsTests and the study's Figure 8 (n = 5 per arm, sample sds).
    static readonly double[] EqualA = [78.1, 77.5, 79.0, 78.6, 77.9], EqualB = [77.2, 76.8, 77.5, 76.6, 77.3];
    static readonly double[] UnequalA = [99.41, 99.52, 99.38, 99.47, 99.50, 99.44, 99.39], UnequalB = [99.30, 99.45, 99.28, 99.36];
    static readonly double[] NegativeA = [1.2, 3.4, 2.2], NegativeB = [2.9, 3.1, 4.0, 3.6, 2.5, 3.3];
    static readonly SampleSummary FashionSam = new(5, 99.440, 0.068), FashionSgd = new(5, 99.384, 0.118);
    static readonly SampleSummary DogsSam = new(5, 78.124, 0.887), DogsSgd = new(5, 77.082, 0.425);

    /// <summary>One comparison: kind welch / student / paired / mann-whitney. For paired, Pairs holds the data and A
    /// the summary of the differences (what the script gets), B is null.</summary>
    public sealed record Case(string Name, string Kind, Alternative Alt, SampleSummary A, SampleSummary? B,
        IReadOnlyList<(double A, double B)>? Pairs = null);

    static SampleSummary S(double[] values) => SampleSummary.Of(values);

    static Case PairedCase(string name, Alternative alt, double[] a, double[] b) =>
        new(name, "paired", alt, S(a.Zip(b, (x, y) => x - y).ToArray()), null, a.Zip(b).ToList());

    static readonly Case[] Cases =
    [
        new("fashion welch greater", "welch", Alternative.Greater, FashionSam, FashionSgd),
        new("fashion welch two-sided", "welch", Alternative.TwoSided, FashionSam, FashionSgd),
        new("fashion welch less", "welch", Alternative.Less, FashionSam, FashionSgd),
        new("fashion student greater", "student", Alternative.Greater, FashionSam, FashionSgd),
        new("fashion mann-whitney greater", "mann-whitney", Alternative.Greater, FashionSam, FashionSgd),
        new("dogs welch greater", "welch", Alternative.Greater, DogsSam, DogsSgd),
        new("dogs student two-sided", "student", Alternative.TwoSided, DogsSam, DogsSgd),
        new("unequal welch greater", "welch", Alternative.Greater, S(UnequalA), S(UnequalB)),
        new("unequal welch two-sided", "welch", Alternative.TwoSided, S(UnequalA), S(UnequalB)),
        new("unequal student greater", "student", Alternative.Greater, S(UnequalA), S(UnequalB)),
        PairedCase("equal paired greater", Alternative.Greater, EqualA, EqualB),
        PairedCase("equal paired two-sided", Alternative.TwoSided, EqualA, EqualB),
        new("negative welch less", "welch", Alternative.Less, S(NegativeA), S(NegativeB)),
        new("negative student less", "student", Alternative.Less, S(NegativeA), S(NegativeB)),
        new("negative welch greater", "welch", Alternative.Greater, S(NegativeA), S(NegativeB)),
        new("one constant arm welch greater", "welch", Alternative.Greater, new SampleSummary(5, 79, 0), S(EqualB)),
        new("tiny difference welch greater", "welch", Alternative.Greater, FashionSam, FashionSgd with { Mean = 99.437 }),
        new("tiny difference student two-sided", "student", Alternative.TwoSided, FashionSam, FashionSgd with { Mean = 99.4385 }),
        new("beyond the cap welch greater", "welch", Alternative.Greater, FashionSam, FashionSgd with { Mean = 99.4399 }),
    ];

    /// <summary><see cref="Script"/>'s answers for <see cref="Cases"/>, in order: (minimum detectable difference in pp,
    /// repeats per arm for the observed difference or null).</summary>
    static readonly (double Mde, int? N)[] ScipyFigures =
    [
        (0.17041047757100586, 38), (0.2024740354396366, 48), (0.17041047757100586, null), (0.16608246307546093, 38),
        (0.17041047757100586, 38), (1.2491781304920835, 7), (1.4079637224540722, 9), (0.12688112851057903, 7),
        (0.15407086796138666, 9), (0.10578398555910373, 6), (0.807681909516761, 4), (0.9993383656698759, 5),
        (2.3906868210807892, 11), (1.4451762584939734, 8), (2.3906868210807892, null), (0.5031683163708366, 3),
        (0.17041047757100586, 12743), (0.1949567667988823, 64704), (0.17041047757100586, null),
    ];

    /// <summary>"x df nc scipy.stats.nct.cdf(x, df, nc)" (SciPy 1.10.1).</summary>
    const string ScipyNctCdf = """
        -1 1 -3 0.9663923617491758
        0.8 1 -3 0.9996511374987098
        2.5 1 -3 0.9998793109942905
        9 1 -3 0.9999661485872245
        -1 1 0.5 0.13092587339173367
        0.8 1 0.5 0.5443450490899654
        2.5 1 0.5 0.7918587032850175
        9 1 0.5 0.9384838791805564
        -1 1 2.5 0.0014860975557177136
        0.8 1 2.5 0.04912277286514059
        2.5 1 2.5 0.3525290555058068
        9 1 2.5 0.7823100409302012
        -1 1 10 0.0
        0.8 1 10 5.77863071283372e-15
        2.5 1 10 0.00020408400998040793
        9 1 10 0.269456405159778
        -1 2.5 -3 0.9722208543574783
        0.8 2.5 -3 0.9998164831452561
        2.5 2.5 -3 0.9999816571758268
        9 2.5 -3 0.9999991860654253
        -1 2.5 0.5 0.0967101320265743
        0.8 2.5 0.5 0.5835191029411552
        2.5 2.5 0.5 0.8922332222939868
        9 2.5 0.5 0.9936112516881448
        -1 2.5 2.5 0.0007228538904946458
        0.8 2.5 2.5 0.04685553362826139
        2.5 2.5 2.5 0.42258951522597776
        9 2.5 2.5 0.9442501723061238
        -1 2.5 10 0.0
        0.8 2.5 10 4.428859422775275e-18
        2.5 2.5 10 1.0639506482832288e-06
        9 2.5 10 0.3005142385755518
        -1 6.39 -3 0.9751863209386831
        0.8 6.39 -3 0.9998871386431952
        2.5 6.39 -3 0.9999982912937467
        9 6.39 -3 0.9999999989669096
        -1 6.39 0.5 0.07914842521533016
        0.8 6.39 0.5 0.6036164381672803
        2.5 6.39 0.5 0.943602045577114
        9 6.39 0.5 0.9998769413200358
        -1 6.39 2.5 0.0004064570523509836
        0.8 6.39 2.5 0.04555588583955416
        2.5 6.39 2.5 0.4649085550633066
        9 6.39 2.5 0.9950338906740306
        -1 6.39 10 0.0
        0.8 6.39 10 1.3827497745265475e-19
        2.5 6.39 10 1.060515382670442e-09
        9 6.39 10 0.2974164173293489
        -1 30 -3 0.9768018987819682
        0.8 30 -3 0.9999196008953755
        2.5 30 -3 0.9999999166357559
        9 30 -3 1.0
        -1 30 0.5 0.06949240420416136
        0.8 30 0.5 0.6147808369727725
        2.5 30 0.5 0.9703489577856077
        9 30 0.5 0.9999999974790043
        -1 30 2.5 0.00026639539983075444
        0.8 30 2.5 0.04478791463647068
        2.5 30 2.5 0.49187113368012736
        9 30 2.5 0.9999942005315746
        -1 30 10 0.0
        0.8 30 10 2.6831654043547674e-20
        2.5 30 10 5.047328428277537e-13
        9 30 10 0.2396981236202965
        -1 1000 -3 0.9772363719996577
        0.8 1000 -3 0.9999274158883062
        2.5 1000 -3 0.9999999799967916
        9 1000 -3 1.0
        -1 1000 0.5 0.06688813845264496
        0.8 1000 0.5 0.6178168578039638
        2.5 1000 0.5 0.9770472434309379
        9 1000 0.5 1.0
        -1 1000 2.5 0.00023361181097270034
        0.8 1000 2.5 0.04457223132535896
        2.5 1000 2.5 0.49975082225275896
        9 1000 2.5 0.9999999999062238
        -1 1000 10 0.0
        0.8 1000 10 1.811078397381289e-20
        2.5 1000 10 3.472666641723074e-14
        9 1000 10 0.1629129268762778
        """;

    static PowerResult Ours(Case c) => c.Kind switch
    {
        "welch" => PowerAnalysis.Welch(c.A, c.B, c.Alt),
        "student" => PowerAnalysis.Student(c.A, c.B, c.Alt),
        "paired" => PowerAnalysis.Paired(c.Pairs!, c.Alt),
        _ => PowerAnalysis.For(TestKind.MannWhitney, c.Alt, c.A, c.B),
    };

    [Fact]
    public void Noncentral_t_cdf_matches_scipy_nct()
    {
        var rows = ScipyNctCdf.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(l => l.Split(' ').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray()).ToList();
        Assert.Equal(80, rows.Count);
        foreach (var r in rows)
        {
            var (x, df, nc, expected) = (r[0], r[1], r[2], r[3]);
            var ours = NoncentralT.Cdf(x, df, nc);
            Assert.True(Math.Abs(ours - expected) < CdfTol, $"cdf({x}, {df}, {nc}) = {ours:R}, scipy {expected:R}");
            Assert.Equal(1 - ours, NoncentralT.Sf(x, df, nc), 14);
        }
    }

    [Fact]
    public void Noncentral_t_reduces_to_the_central_t_and_the_normal_and_stays_a_probability()
    {
        foreach (var df in new[] { 1, 3.5, 40 })
            foreach (var x in new[] { -3.0, -0.4, 0, 1.2, 7 })
            {
                Assert.Equal(MathNet.Numerics.Distributions.StudentT.CDF(0, 1, df, x), NoncentralT.Cdf(x, df, 0), 15);
                // Just off zero the series takes over from the central shortcut: no jump.
                Assert.Equal(NoncentralT.Cdf(x, df, 0), NoncentralT.Cdf(x, df, 1e-9), 8);
            }
        Assert.Equal(MathNet.Numerics.Distributions.Normal.CDF(0, 1, -2.5), NoncentralT.Cdf(0, 7, 2.5), 15);   // P(T ≤ 0) = Φ(−nc)
        Assert.Equal(1.0, NoncentralT.Cdf(double.PositiveInfinity, 3, 2));
        Assert.Equal(0.0, NoncentralT.Sf(double.PositiveInfinity, 3, 2));
        // Large noncentrality (exp(−nc²/2) underflows at nc ≈ 38.6, where AS 243's plain series would return nonsense).
        var far = NoncentralT.Cdf(45, 50, 45);
        Assert.InRange(far, 0.4, 0.6);
        Assert.InRange(NoncentralT.Cdf(1e6, 2, 45), 0.999, 1.0);
        Assert.Throws<ArgumentOutOfRangeException>(() => NoncentralT.Cdf(1, 0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => NoncentralT.Cdf(1, 3, 2e4));
        // A huge effect at n = 2 (noncentrality ~ 7000 there) still answers at once: the repeats search never
        // evaluates the distribution that far out.
        var watch = Stopwatch.StartNew();
        Assert.Equal(2, PowerAnalysis.Welch(new SampleSummary(5, 90, 0.001), new SampleSummary(5, 80, 0.002), Alternative.Greater).NForPower80);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), watch.Elapsed.ToString());
    }

    [Fact]
    public void Power_figures_match_scipy()
    {
        Assert.Equal(Cases.Length, ScipyFigures.Length);
        for (var i = 0; i < Cases.Length; i++)
        {
            var ours = Ours(Cases[i]);
            var (mde, n) = ScipyFigures[i];
            Assert.True(Math.Abs(ours.MdePp!.Value - mde) < 1e-8, $"{Cases[i].Name}: mde {ours.MdePp:R}, scipy {mde:R}");
            Assert.True(n == ours.NForPower80, $"{Cases[i].Name}: n {ours.NForPower80}, scipy {n}");
        }
    }

    [Fact]
    public void Figure8_fashion_example_needs_about_38_repeats_per_arm()
    {
        // The study's inconclusive row: SAM 99.440 ± 0.068 vs SGD 99.384 ± 0.118, n = 5 each: +0.056 pp, p = 0.196.
        var test = TwoSampleTests.Welch(FashionSam, FashionSgd, Alternative.Greater);
        Assert.Equal(0.196, test.PValue!.Value, 3);
        Assert.Equal(0.056, test.MeanDifference!.Value, 12);
        var power = PowerAnalysis.Welch(FashionSam, FashionSgd, Alternative.Greater);
        Assert.Equal(0.170, power.MdePp!.Value, 3);   // what 5 repeats can see, three times the observed difference
        Assert.Equal(38, power.NForPower80);
        Assert.Empty(power.Notes);
        // What the figures mean: 80 % power exactly at the MDE now; at the observed difference, below 0.8 with 37 per arm
        // and at least 0.8 with 38 (equal n, the same sds).
        var se = Math.Sqrt(FashionSam.Variance / 5 + FashionSgd.Variance / 5);
        Assert.Equal(0.8, PowerAnalysis.Power(power.MdePp.Value / se, test.Df!.Value, Alternative.Greater), 9);
        double PowerAt(int n) => PowerAnalysis.Power(0.056 / Math.Sqrt((FashionSam.Variance + FashionSgd.Variance) / n),
            PowerAnalysis.WelchDf(FashionSam.Variance, n, FashionSgd.Variance, n), Alternative.Greater);
        Assert.InRange(PowerAt(37), 0.7, 0.8 - 1e-6);
        Assert.InRange(PowerAt(38), 0.8, 0.81);
        Assert.InRange(PowerAt(5), 0.2, 0.4);
    }

    [Fact]
    public void Power_at_no_difference_is_alpha_and_the_mde_is_the_same_for_greater_and_less()
    {
        foreach (var df in new[] { 1.0, 4, 6.39, 100 })
        {
            Assert.Equal(0.05, PowerAnalysis.Power(0, df, Alternative.Greater), 12);
            Assert.Equal(0.05, PowerAnalysis.Power(0, df, Alternative.TwoSided), 12);
            Assert.Equal(PowerAnalysis.NoncentralityForPower(df, Alternative.Greater), PowerAnalysis.NoncentralityForPower(df, Alternative.Less), 12);
            Assert.True(PowerAnalysis.NoncentralityForPower(df, Alternative.TwoSided) > PowerAnalysis.NoncentralityForPower(df, Alternative.Greater));
        }
        // Large df: the normal answer z(0.95) + z(0.8) = 1.6449 + 0.8416.
        Assert.Equal(2.486, PowerAnalysis.NoncentralityForPower(1e5, Alternative.Greater), 3);
    }

    [Fact]
    public void Undefined_figures_are_null_and_say_why()
    {
        var wrongWay = PowerAnalysis.Welch(FashionSgd, FashionSam, Alternative.Greater);   // −0.056 pp, tested >
        Assert.NotNull(wrongWay.MdePp);
        Assert.Null(wrongWay.NForPower80);
        Assert.Contains("-0.056 pp is not in the direction of the alternative (greater)", Assert.Single(wrongWay.Notes));
        Assert.Equal(38, PowerAnalysis.Welch(FashionSgd, FashionSam, Alternative.Less).NForPower80);   // the mirror image

        var same = PowerAnalysis.Student(FashionSam, FashionSgd with { Mean = FashionSam.Mean }, Alternative.TwoSided);
        Assert.NotNull(same.MdePp);
        Assert.Null(same.NForPower80);
        Assert.Contains("observed difference is 0", Assert.Single(same.Notes));

        var constant = PowerAnalysis.Welch(new SampleSummary(5, 100, 0), new SampleSummary(5, 99, 0), Alternative.Greater);
        Assert.Null(constant.MdePp);
        Assert.Null(constant.NForPower80);
        Assert.Contains("both arms have zero variance", Assert.Single(constant.Notes));

        var one = PowerAnalysis.Welch(new SampleSummary(1, 80, 0), FashionSgd, Alternative.Greater);
        Assert.Null(one.MdePp);
        Assert.Null(one.NForPower80);
        Assert.Contains("n = 1 vs 5", Assert.Single(one.Notes));
        Assert.Contains("no completed trials", Assert.Single(PowerAnalysis.Welch(null, FashionSgd, Alternative.Greater).Notes));

        var pair = PowerAnalysis.Paired([(1.0, 2.0)], Alternative.Greater);
        Assert.Null(pair.MdePp);
        Assert.Null(pair.NForPower80);
        Assert.Contains("1 matched pair", Assert.Single(pair.Notes));
        var parallel = PowerAnalysis.Paired([(2.0, 1.0), (3.0, 2.0), (5.0, 4.0)], Alternative.Greater);
        Assert.Null(parallel.MdePp);
        Assert.Null(parallel.NForPower80);
        Assert.Contains("zero spread of differences", Assert.Single(parallel.Notes));

        var beyond = PowerAnalysis.Welch(FashionSam, FashionSgd with { Mean = 99.4399 }, Alternative.Greater);
        Assert.NotNull(beyond.MdePp);
        Assert.Null(beyond.NForPower80);
        Assert.Contains("more than 100000 repeats per arm", Assert.Single(beyond.Notes));

        var mannWhitney = PowerAnalysis.For(TestKind.MannWhitney, Alternative.Greater, FashionSam, FashionSgd);
        Assert.Equal(PowerAnalysis.Welch(FashionSam, FashionSgd, Alternative.Greater).MdePp, mannWhitney.MdePp);
        Assert.Equal(PowerAnalysis.MannWhitneyNote, Assert.Single(mannWhitney.Notes));
    }

    // ---- the report ------------------------------------------------------------------------------------------------

    static TrialResultRow Trial(string dataset, string model, string optimizer, int repeat, double test) =>
        new(dataset, model, optimizer, repeat, true, 99.5, test, 100, 3, null, 0);

    static List<TrialResultRow> Arm(string dataset, string model, string optimizer, params double[] tests) =>
        tests.Select((t, i) => Trial(dataset, model, optimizer, i + 1, t)).ToList();

    static List<TrialResultRow> StudyRows() =>
        Arm("fashion-mnist", "resnet18", "sgd", 99.30, 99.25, 99.40, 99.45, 99.52)
            .Concat(Arm("fashion-mnist", "resnet18", "sam", 99.40, 99.36, 99.47, 99.50, 99.47))
            .Concat(Arm("fashion-mnist", "resnet18", "asam", 99.20, 99.31, 99.28, 99.33, 99.30))   // below SGD
            .Concat(Arm("stanford-dogs", "resnet18", "sgd", 77.2, 76.8, 77.5, 76.6, 77.3))
            .Concat(Arm("stanford-dogs", "resnet18", "sam", 78.1, 77.5, 79.0, 78.6))
            .Concat(Arm("stanford-dogs", "resnet18", "asam", 80.0)).ToList();

    [Fact]
    public void Report_json_csv_and_markdown_carry_the_power_figures()
    {
        var report = ReportBuilder.Build(StudyRows(), new ReportOptions());
        var fashion = report.Groups[0];
        var sam = fashion.ComparisonOf("sam")!;
        var expected = PowerAnalysis.Welch(fashion.Arm("sam")!.Test, fashion.Arm("sgd")!.Test, Alternative.Greater);
        Assert.Equal(expected, sam.Power! with { Notes = expected.Notes });
        Assert.NotNull(expected.NForPower80);

        // JSON: flat fields for the primary comparison (sam vs sgd) and the same keys in each comparison object.
        using var json = JsonDocument.Parse(JsonReport.Write(report));
        var row = json.RootElement[0];
        Assert.Equal(expected.MdePp!.Value, row.GetProperty("mde_pp").GetDouble());
        Assert.Equal(expected.NForPower80!.Value, row.GetProperty("n_for_power80").GetInt32());
        Assert.Equal(JsonValueKind.Null, row.GetProperty("power_note").ValueKind);
        var asam = row.GetProperty("comparisons")[1];
        Assert.Equal("asam", asam.GetProperty("treatment").GetString());
        Assert.Equal(JsonValueKind.Number, asam.GetProperty("mde_pp").ValueKind);
        Assert.Equal(JsonValueKind.Null, asam.GetProperty("n_for_power80").ValueKind);    // ASAM is below SGD
        Assert.Contains("not in the direction of the alternative", asam.GetProperty("power_note").GetString());
        Assert.Contains(row.GetProperty("notes").EnumerateArray(), n => n.GetString()!.StartsWith("asam vs sgd: power: no repeats figure"));
        var dogsAsam = json.RootElement[1].GetProperty("comparisons")[1];                  // one ASAM trial
        Assert.Equal(JsonValueKind.Null, dogsAsam.GetProperty("mde_pp").ValueKind);
        Assert.Contains("n = 1 vs 5", dogsAsam.GetProperty("power_note").GetString());
        foreach (var key in new[] { "t", "df", "p_value", "alternative", "p_holm", "hedges_g", "diff_ci95" })
            Assert.True(row.TryGetProperty(key, out _), key);                              // nothing taken away

        // CSV: every older column where it was, the power columns after them.
        var text = CsvReport.Write(report);
        var header = text.Split('\n')[0].Split(',');
        var old = new List<string> { "dataset", "model", "epochs" };
        foreach (var o in new[] { "sgd", "sam", "asam" })
            old.AddRange(new[] { "n", "failed", "train_mean", "train_std", "test_mean", "test_std", "seconds_mean", "seconds_std" }.Select(c => $"{o}_{c}"));
        old.AddRange(["test", "alternative", "t", "df", "p_value", "p_holm", "hedges_g", "diff_mean", "diff_ci95_lo", "diff_ci95_hi"]);
        old.AddRange(new[] { "t", "df", "p_value", "p_holm", "hedges_g", "diff_mean", "diff_ci95_lo", "diff_ci95_hi" }.Select(c => $"asam_vs_sgd_{c}"));
        old.Add("notes");
        Assert.Equal([.. old, "mde_pp", "n_for_power80", "asam_vs_sgd_mde_pp", "asam_vs_sgd_n_for_power80", "cell",
            "time_ratio", "asam_vs_sgd_time_ratio"], header);
        var csv = CsvTable.Parse("report.csv", text);
        Assert.Equal(expected.MdePp.Value, double.Parse(csv.Rows[0].Text("mde_pp"), CultureInfo.InvariantCulture));
        Assert.Equal(expected.NForPower80.Value.ToString(CultureInfo.InvariantCulture), csv.Rows[0].Text("n_for_power80"));
        Assert.Equal("", csv.Rows[0].Text("asam_vs_sgd_n_for_power80"));
        Assert.Equal("", csv.Rows[1].Text("asam_vs_sgd_mde_pp"));

        // Markdown: one plain sentence per comparison.
        var md = MarkdownReport.Write(report);
        Assert.Contains("## Power (test accuracy)", md);
        var diff = sam.Result.MeanDifference!.Value;
        Assert.Contains(string.Create(CultureInfo.InvariantCulture,
            $"- fashion-mnist/resnet18, SAM vs SGD: to detect the observed +{diff:0.000} pp with 80 % power: about " +
            $"{expected.NForPower80} repeats per arm (5 now); the smallest difference detectable now is {expected.MdePp:0.000} pp."), md);
        Assert.Contains("- fashion-mnist/resnet18, ASAM vs SGD: the observed -", md);
        Assert.Contains("- stanford-dogs/resnet18, SAM vs SGD: to detect the observed +", md);
        Assert.Contains("(4 SAM and 5 SGD now)", md);
        Assert.Contains("- stanford-dogs/resnet18, ASAM vs SGD: no power figures (n = 1 vs 5;", md);
        Assert.Equal(4, md.Split('\n').Count(l => l.StartsWith("- ") && l.Contains(" vs SGD: ")));
    }

    [Fact]
    public void Report_power_follows_the_alternative_and_the_test()
    {
        var rows = StudyRows();
        var twoSided = ReportBuilder.Build(rows, new ReportOptions(Alternative: Alternative.TwoSided));
        var asam = twoSided.Groups[0].ComparisonOf("asam")!;
        Assert.NotNull(asam.Power!.NForPower80);                       // below SGD is a difference, two-sided
        Assert.Contains("either way.", MarkdownReport.Write(twoSided));
        Assert.Contains("two-sided, for the report's test", MarkdownReport.Write(twoSided));

        var less = ReportBuilder.Build(rows, new ReportOptions(Alternative: Alternative.Less));
        Assert.NotNull(less.Groups[0].ComparisonOf("asam")!.Power!.NForPower80);
        Assert.Null(less.Groups[0].ComparisonOf("sam")!.Power!.NForPower80);
        Assert.Contains("(ASAM below SGD).", MarkdownReport.Write(less));

        var student = ReportBuilder.Build(rows, new ReportOptions(Test: TestKind.Student)).Groups[0];
        var studentPower = PowerAnalysis.Student(student.Arm("sam")!.Test, student.Arm("sgd")!.Test, Alternative.Greater);
        Assert.Equal((studentPower.MdePp, studentPower.NForPower80),
            (student.ComparisonOf("sam")!.Power!.MdePp, student.ComparisonOf("sam")!.Power!.NForPower80));

        var paired = ReportBuilder.Build(rows, new ReportOptions(Test: TestKind.Paired));
        var dogs = paired.Groups[1].ComparisonOf("sam")!;               // repeats 1-4 present in both arms
        var pairs = rows.Where(r => r.Dataset == "stanford-dogs" && r.Optimizer == "sam")
            .Select(r => (r.TestAcc!.Value, rows.Single(s => s.Dataset == "stanford-dogs" && s.Optimizer == "sgd" && s.Repeat == r.Repeat).TestAcc!.Value))
            .ToList();
        Assert.Equal(PowerAnalysis.Paired(pairs, Alternative.Greater).MdePp, dogs.Power!.MdePp);
        Assert.Matches(@"stanford-dogs/resnet18, SAM vs SGD: to detect the observed \+[0-9.]+ pp with 80 % power: about \d+ pairs \(4 now\)", MarkdownReport.Write(paired));

        var mannWhitney = ReportBuilder.Build(rows, new ReportOptions(Test: TestKind.MannWhitney));
        var mw = mannWhitney.Groups[0].ComparisonOf("sam")!;
        Assert.Equal(PowerAnalysis.Welch(mannWhitney.Groups[0].Arm("sam")!.Test, mannWhitney.Groups[0].Arm("sgd")!.Test, Alternative.Greater).MdePp,
            mw.Power!.MdePp);
        using var json = JsonDocument.Parse(JsonReport.Write(mannWhitney));
        Assert.StartsWith("Mann–Whitney has no closed-form power", json.RootElement[0].GetProperty("power_note").GetString());
        Assert.DoesNotContain(json.RootElement[0].GetProperty("notes").EnumerateArray(), n => n.GetString()!.Contains("closed-form"));
        var md = MarkdownReport.Write(mannWhitney);
        Assert.Contains("(Welch's figures: Mann–Whitney has no closed form).", md);
        Assert.Single(md.Split('\n'), l => l.Contains("Mann–Whitney has no closed-form power"));
    }

    // ---- scipy, recomputed now -------------------------------------------------------------------------------------

    static readonly double[] GridDf = [1, 1.5, 2.5, 4, 6.39, 10, 30, 100, 1000, 1e5, 2e5];
    static readonly double[] GridNc = [-8, -3, -0.5, 0, 0.3, 1, 2.5, 5, 10, 20, 38, 150];
    static readonly double[] GridX = [-10, -2.5, -1, -0.2, 0, 0.5, 1.645, 2.5, 4, 8, 20, 60];

    /// <summary>Everything above against scipy as it answers now: the CDF and upper tail on a 1,584-point grid, and
    /// every case's figures; prints the largest differences seen.</summary>
    [SkippableFact]
    public void Scipy_recomputed_now_agrees()
    {
        var python = PythonWithScipy();
        Skip.If(python is null, "no python3 with scipy here (apt-get install -y python3-scipy)");
        var grid = (from df in GridDf from nc in GridNc from x in GridX select (x, df, nc)).ToList();
        var reply = RunScipy(python!, grid, Cases);
        var cdf = reply["cdf"]!.AsArray().Select(v => v!.GetValue<double>()).ToList();
        var sf = reply["sf"]!.AsArray().Select(v => v!.GetValue<double>()).ToList();
        var worst = 0.0;
        for (var i = 0; i < grid.Count; i++)
        {
            var (x, df, nc) = grid[i];
            var ours = NoncentralT.Cdf(x, df, nc);
            var oursSf = NoncentralT.Sf(x, df, nc);
            worst = Math.Max(worst, Math.Max(Math.Abs(ours - cdf[i]), Math.Abs(oursSf - sf[i])));
            Assert.True(Math.Abs(ours - cdf[i]) < CdfTol, $"cdf({x}, {df}, {nc}) = {ours:R}, scipy {cdf[i]:R}");
            Assert.True(Math.Abs(oursSf - sf[i]) < CdfTol, $"sf({x}, {df}, {nc}) = {oursSf:R}, scipy {sf[i]:R}");
        }
        var cases = reply["cases"]!.AsArray();
        var worstMde = 0.0;
        for (var i = 0; i < Cases.Length; i++)
        {
            var c = Cases[i];
            var ours = Ours(c);
            var mde = cases[i]!["mde"]!.GetValue<double>();
            var n = cases[i]!["n"]?.GetValue<int>();
            worstMde = Math.Max(worstMde, Math.Abs(ours.MdePp!.Value - mde));
            Console.WriteLine($"{c.Name}: mde {ours.MdePp:R} pp (scipy {mde:R}), n {ours.NForPower80?.ToString() ?? "null"} (scipy {n?.ToString() ?? "null"})");
            Assert.True(Math.Abs(ours.MdePp!.Value - mde) < MdeTol, c.Name);
            Assert.Equal(n is null, ours.NForPower80 is null);
            if (n is not null) Assert.InRange(ours.NForPower80!.Value, n.Value - 1, n.Value + 1);
        }
        Console.WriteLine($"worst |ours − scipy|: {worst:E2} over {grid.Count} (x, df, nc) points, {worstMde:E2} pp over {Cases.Length} cases");
    }

    static JsonNode RunScipy(string python, IReadOnlyList<(double X, double Df, double Nc)> grid, IReadOnlyList<Case> cases)
    {
        var request = new JsonObject
        {
            ["grid"] = new JsonArray(grid.Select(g => (JsonNode)new JsonArray(g.X, g.Df, g.Nc)).ToArray()),
            ["cases"] = new JsonArray(cases.Select(c => (JsonNode)new JsonObject
            {
                ["kind"] = c.Kind,
                ["alt"] = ReportOptions.Name(c.Alt),
                ["a"] = new JsonArray(c.A.N, c.A.Mean, c.A.Sd),
                ["b"] = c.B is null ? null : new JsonArray(c.B.N, c.B.Mean, c.B.Sd),
            }).ToArray()),
        };
        var info = new ProcessStartInfo(python) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(Script);
        using var process = Process.Start(info)!;
        var errors = process.StandardError.ReadToEndAsync();
        process.StandardInput.Write(request.ToJsonString());
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"python exited {process.ExitCode}:\n{errors.Result}");
        return JsonNode.Parse(stdout.Trim().Split('\n')[^1])!;
    }

    static string? PythonWithScipy()
    {
        foreach (var candidate in new[] { "/usr/bin/python3", "python3" })
        {
            try
            {
                var info = new ProcessStartInfo(candidate) { RedirectStandardOutput = true, RedirectStandardError = true };
                info.ArgumentList.Add("-c");
                info.ArgumentList.Add("import scipy.stats, scipy.optimize");
                using var process = Process.Start(info)!;
                process.StandardOutput.ReadToEnd();
                process.StandardError.ReadToEnd();
                process.WaitForExit();
                if (process.ExitCode == 0) return candidate;
            }
            catch (System.ComponentModel.Win32Exception)
            {
            }
        }
        return null;
    }
}
