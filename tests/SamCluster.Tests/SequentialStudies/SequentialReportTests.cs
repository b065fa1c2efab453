using System.Globalization;
using System.Text.Json.Nodes;
using MathNet.Numerics.Distributions;
using SamCluster.Experiment;
using SamCluster.Reporting;
using SamCluster.Reporting.Sequential;
using SamCluster.RunStore;
using SamCluster.Tests.BadInput;
using SamCluster.Tests.Reporting;
using Xunit;
using Xunit.Abstractions;

namespace SamCluster.Tests.SequentialStudies;

/// <summary>The report of a sequential run: each comparison's last decided look in report.json, report.md and report.csv,
/// Holm over the stage-wise p-values, the trials saved against the fixed design, and the figures against rpact.</summary>
public sealed class SequentialReportTests(ITestOutputHelper output)
{
    static TrialResultRow Trial(string optimizer, int repeat, double test, string dataset = "fashion-mnist", string? cell = null,
        bool completed = true) =>
        new(dataset, "resnet18", optimizer, repeat, completed, completed ? 99.0 : null, completed ? test : null, completed ? 100 : null,
            3, completed ? null : "out of memory", 0, cell);

    /// <summary>Repeats 1, 2, ... of one arm, as a sequential grid numbers them.</summary>
    static IEnumerable<TrialResultRow> Arm(string optimizer, double[] tests, string dataset = "fashion-mnist", string? cell = null) =>
        tests.Select((t, i) => Trial(optimizer, i + 1, t, dataset, cell));

    static SequentialPlan Plan(int[] looks, string spending = SequentialPlan.Pocock, double? margin = null, string test = SequentialPlan.Welch,
        double alpha = 0.05) => new(looks, alpha, spending, margin, test);

    static Report Build(IEnumerable<TrialResultRow> rows, SequentialPlan? plan, Alternative alternative = Alternative.Greater) =>
        ReportBuilder.Build(rows.ToList(), new ReportOptions(alternative, Curves: false, Sequential: plan));

    static JsonNode Sequential(Report report, int group = 0) => JsonNode.Parse(JsonReport.Write(report))![group]!["comparisons"]![0]!["sequential"]!;

    static double Number(JsonNode node, string key) => node[key]!.GetValue<double>();

    /// <summary>A p-value as report.md writes it.</summary>
    static string PText(double p) => p.ToString(p < 0.001 ? "0.0e+0" : "0.000", CultureInfo.InvariantCulture);

    /// <summary>Welch's t, df and the repeated CI at one-sided level <paramref name="level"/>, worked from the formulas.</summary>
    static (double T, double Df, double P, double Low, double High) Welch(double[] a, double[] b, double level)
    {
        var (sa, sb) = (SampleSummary.Of(a), SampleSummary.Of(b));
        var (va, vb) = (sa.Variance / a.Length, sb.Variance / b.Length);
        var se = Math.Sqrt(va + vb);
        var df = (va + vb) * (va + vb) / (va * va / (a.Length - 1) + vb * vb / (b.Length - 1));
        var diff = sa.Mean - sb.Mean;
        var q = StudentT.InvCDF(0, 1, df, 1 - level);
        return (diff / se, df, StudentT.CDF(0, 1, df, -diff / se), diff - q * se, diff + q * se);
    }

    /// <summary>The stage-wise p at look 2 of a two-look design from its one integral, by adaptive quadrature (independent
    /// of the design's grid recursion): α(t_1) + ∫_{z_1 &lt; c_1} φ(z_1) P(Z_2 ≥ z | z_1) dz_1, ρ = √(t_1 / t_2).</summary>
    static double StagewiseAtLookTwo(GroupSequentialDesign design, double z)
    {
        var rho = Math.Sqrt(design.InformationRates[0]);
        var beyond = MathNet.Numerics.Integration.GaussKronrodRule.Integrate(
            u => Normal.PDF(0, 1, u) * Normal.CDF(0, 1, -(z - rho * u) / Math.Sqrt(1 - rho * rho)), -14, design.CriticalZ[0], out _, out _, 1e-14);
        return design.CumulativeAlpha[0] + beyond;
    }

    [Fact]
    public void Efficacy_at_look_one_states_the_look_its_figures_and_the_trials_saved()
    {
        double[] sam = [92.0, 92.1], sgd = [90.0, 90.1];
        var plan = Plan([2, 4]);
        var report = Build(Arm("sgd", sgd).Concat(Arm("sam", sam)), plan);
        var design = SequentialRule.For(plan).Design;
        var (t, df, p, low, high) = Welch(sam, sgd, design.NominalAlpha[0]);

        var json = Sequential(report);
        Assert.Equal(1, json["look"]!.GetValue<int>());
        Assert.Equal(2, json["looks"]!.GetValue<int>());
        Assert.Equal(2, json["n_per_arm"]!.GetValue<int>());
        Assert.Equal("efficacy", json["decision"]!.GetValue<string>());
        Assert.Equal(t, Number(json, "statistic"), 10);
        Assert.Equal(df, Number(json, "df"), 10);
        Assert.Equal(design.NominalAlpha[0], Number(json, "nominal_alpha"), 15);
        // At look 1 nothing came before: the stage-wise p is the look's own one-sided p.
        Assert.Equal(p, Number(json, "p_value_stagewise"), 12);
        var ci = json["repeated_ci"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
        Assert.Equal(low, ci[0], 10);
        Assert.Equal(high, ci[1], 10);
        // The flat fields describe the primary comparison (SAM vs SGD), its look too.
        Assert.Equal("efficacy", JsonNode.Parse(JsonReport.Write(report))![0]!["sequential"]!["decision"]!.GetValue<string>());

        var md = MarkdownReport.Write(report);
        Assert.Contains("## Sequential design", md);
        Assert.Contains($"- fashion-mnist/resnet18: stopped at look 1: SAM better (2 of 4 repeats per arm; stage-wise p = {PText(p)}; " +
                        $"repeated CI of the difference [{low.ToString("0.000", CultureInfo.InvariantCulture)}, {high.ToString("0.000", CultureInfo.InvariantCulture)}] pp).", md);
        Assert.Contains("4 of 8 trials: 50 % saved against the fixed design (every arm to 4 repeats).", md);
        output.WriteLine(md);
    }

    [Fact]
    public void A_run_going_on_shows_its_latest_continue_and_the_trials_so_far()
    {
        // Look 1 (3 per arm) is complete and continued; of look 2 only SAM's repeat 4 has finished.
        double[] sam = [90.4, 91.0, 90.1], sgd = [90.2, 90.3, 90.6];
        var plan = Plan([3, 6, 9], SequentialPlan.OBrienFleming);
        var rows = Arm("sgd", sgd).Concat(Arm("sam", sam)).Append(Trial("sam", 4, 90.9)).ToList();
        var report = Build(rows, plan);
        var design = SequentialRule.For(plan).Design;
        var (_, _, p, _, _) = Welch(sam, sgd, design.NominalAlpha[0]);

        var json = Sequential(report);
        Assert.Equal(1, json["look"]!.GetValue<int>());
        Assert.Equal(3, json["looks"]!.GetValue<int>());
        Assert.Equal("continue", json["decision"]!.GetValue<string>());
        Assert.Equal(p, Number(json, "p_value_stagewise"), 12);
        Assert.True(Number(json, "p_value_stagewise") > design.CumulativeAlpha[0]);
        var md = MarkdownReport.Write(report);
        Assert.Contains("- fashion-mnist/resnet18: look 1 of 3: continue (3 of 9 repeats per arm; stage-wise p = ", md);
        Assert.Contains("7 of 18 trials: 61 % saved against the fixed design (every arm to 9 repeats) so far; 1 comparison(s) still open.", md);
    }

    [Fact]
    public void Before_look_one_is_complete_the_comparison_has_no_decision_and_no_holm_p()
    {
        var report = Build(Arm("sgd", [90.2, 90.3]).Concat(Arm("sam", [90.4, 91.0, 90.1])), Plan([3, 6]));
        var json = Sequential(report);
        Assert.Null(json["look"]);
        Assert.Null(json["decision"]);
        Assert.Null(json["p_value_stagewise"]);
        Assert.Equal(2, json["looks"]!.GetValue<int>());
        var comparison = report.Groups[0].ComparisonOf("sam")!;
        Assert.NotNull(comparison.Result.PValue);   // the fixed-sample test is still shown ...
        Assert.Null(comparison.PHolm);              // ... but not adjusted as if nobody had looked
        Assert.Contains("- fashion-mnist/resnet18: look 1 of 2 not complete yet (3 repeats per arm): no decision.", MarkdownReport.Write(report));
    }

    [Fact]
    public void Futility_with_a_margin_stops_at_look_two_with_the_stage_wise_p_of_the_two_look_integral()
    {
        // Look 1 too noisy for either stop; at look 2 the repeated upper bound of SAM's gain is under 0.5 pp.
        double[] sam = [90.0, 90.6, 89.5, 90.0, 90.1, 90.05], sgd = [90.1, 89.6, 90.4, 90.2, 90.15, 90.1];
        var plan = Plan([3, 6], SequentialPlan.OBrienFleming, margin: 0.5);
        var report = Build(Arm("sgd", sgd).Concat(Arm("sam", sam)), plan);
        var design = SequentialRule.For(plan).Design;
        var (t, df, p, low, high) = Welch(sam, sgd, design.NominalAlpha[1]);
        Assert.True(high < 0.5, "the fixture's look 2 must fall under the margin");

        var json = Sequential(report);
        Assert.Equal(2, json["look"]!.GetValue<int>());
        Assert.Equal(6, json["n_per_arm"]!.GetValue<int>());
        Assert.Equal("futility", json["decision"]!.GetValue<string>());
        Assert.Equal(t, Number(json, "statistic"), 10);
        Assert.Equal(df, Number(json, "df"), 10);
        Assert.Equal(design.NominalAlpha[1], Number(json, "nominal_alpha"), 15);
        Assert.Equal(StagewiseAtLookTwo(design, -Normal.InvCDF(0, 1, p)), Number(json, "p_value_stagewise"), 10);
        Assert.True(Number(json, "p_value_stagewise") > design.CumulativeAlpha[1]);
        Assert.Equal(high, json["repeated_ci"]![1]!.GetValue<double>(), 10);
        Assert.Contains("- fashion-mnist/resnet18: stopped at look 2: gain < 0.5 pp (6 of 6 repeats per arm; ", MarkdownReport.Write(report));
    }

    [Fact]
    public void Paired_looks_test_the_repeats_differences()
    {
        // SGD and SAM of a repeat share init and data order: the pairs' differences are steady though the arms vary.
        double[] sgd = [88.0, 91.0, 89.5, 90.2], sam = [88.6, 91.5, 90.2, 90.8];
        var plan = Plan([2, 4], test: SequentialPlan.Paired);
        var report = Build(Arm("sgd", sgd).Concat(Arm("sam", sam)), plan);
        var design = SequentialRule.For(plan).Design;
        var json = Sequential(report);
        var look = json["look"]!.GetValue<int>();
        var n = design.Looks[look - 1];
        var d = SampleSummary.Of(sam.Take(n).Zip(sgd.Take(n), (a, b) => a - b).ToList());
        var t = d.Mean / (d.Sd / Math.Sqrt(n));
        Assert.Equal(t, Number(json, "statistic"), 10);
        Assert.Equal(n - 1, Number(json, "df"), 12);
        var p = StudentT.CDF(0, 1, n - 1, -t);
        Assert.Equal(p <= design.NominalAlpha[look - 1] ? "efficacy" : "continue", json["decision"]!.GetValue<string>());
        var expected = look == 1 ? p : StagewiseAtLookTwo(design, -Normal.InvCDF(0, 1, p));
        Assert.Equal(expected, Number(json, "p_value_stagewise"), 10);
        // Welch on the same arms sees mostly the arms' spread, not the steady gain.
        Assert.True(report.Groups[0].ComparisonOf("sam")!.Result.PValue > p);
    }

    [Fact]
    public void Holm_adjusts_the_stage_wise_p_values_and_a_shared_control_arm_counts_once()
    {
        // Two SAM cells over rho against one SGD arm: one stops at look 1, the other goes on.
        double[] sgd = [90.0, 90.1, 90.05], strong = [92.0, 92.2, 92.1], weak = [90.1, 90.6, 89.9];
        var rows = Arm("sgd", sgd).Concat(Arm("sam", strong, cell: "rho=0.05")).Concat(Arm("sam", weak, cell: "rho=0.1")).ToList();
        var plan = Plan([3, 6, 9]);
        var report = Build(rows, plan);
        Assert.Equal(2, report.Groups.Count);
        var comparisons = report.Groups.Select(g => g.ComparisonOf("sam")!).ToList();
        var stagewise = comparisons.Select(c => c.Sequential!.StagewisePValue).ToList();
        Assert.All(stagewise, x => Assert.NotNull(x));
        Assert.Equal(Holm.Adjust(stagewise), comparisons.Select(c => c.PHolm).ToArray());
        Assert.NotEqual(Holm.Adjust(comparisons.Select(c => c.Result.PValue).ToList()), comparisons.Select(c => c.PHolm).ToArray());
        Assert.Equal(["efficacy", "continue"], report.Groups.Select((_, i) => Sequential(report, i)["decision"]!.GetValue<string>()));
        var json = JsonNode.Parse(JsonReport.Write(report))!;
        Assert.Equal(comparisons[0].PHolm!.Value, json[0]!["comparisons"]![0]!["p_holm"]!.GetValue<double>());

        var md = MarkdownReport.Write(report);
        // SGD's arm serves both cells: the fixed design runs 3 arms of 9, not 4.
        Assert.Contains("9 of 27 trials: 67 % saved against the fixed design (every arm to 9 repeats) so far; 1 comparison(s) still open.", md);
        Assert.Contains("Holm-adjusted over the stage-wise p-values of the 2 comparison(s) of this sequential run", md);
        Assert.Contains("- fashion-mnist/resnet18 [rho=0.05]: stopped at look 1: SAM better", md);
        Assert.Contains("- fashion-mnist/resnet18 [rho=0.1]: look 1 of 3: continue", md);
    }

    [Fact]
    public void Without_a_design_the_report_says_nothing_sequential()
    {
        var rows = Arm("sgd", [90.0, 90.1, 90.05]).Concat(Arm("sam", [92.0, 92.2, 92.1])).ToList();
        var report = Build(rows, null);
        var json = JsonReport.Write(report);
        Assert.DoesNotContain("sequential", json);
        Assert.DoesNotContain("Sequential", MarkdownReport.Write(report));
        Assert.DoesNotContain("sequential", CsvReport.Write(report));
        Assert.Null(report.Sequential);
    }

    [Fact]
    public void The_csv_keeps_every_column_in_place_and_adds_the_looks_after_them()
    {
        var rows = Arm("sgd", [90.0, 90.1, 90.05]).Concat(Arm("sam", [92.0, 92.2, 92.1])).ToList();
        // A fixed run's columns up to "cell", then the looks, then time_ratio: the last column of either kind of run.
        var plain = CsvReport.Write(Build(rows, null)).Split(Environment.NewLine)[0].Split(',')[..^1];
        var lines = CsvReport.Write(Build(rows, Plan([3, 6]))).Split(Environment.NewLine);
        var header = lines[0].Split(',');
        Assert.Equal(plain, header[..plain.Length]);
        Assert.Equal(["sequential_look", "sequential_looks", "sequential_n_per_arm", "sequential_decision", "sequential_statistic",
            "sequential_df", "sequential_nominal_alpha", "sequential_p_value_stagewise", "sequential_repeated_ci_lo", "sequential_repeated_ci_hi",
            "time_ratio"], header[plain.Length..]);
        var row = lines[1].Split(',');
        Assert.Equal(["1", "2", "3", "efficacy"], row[plain.Length..(plain.Length + 4)]);
    }

    [Theory]
    [InlineData(Alternative.TwoSided)]
    [InlineData(Alternative.Less)]
    public void Another_alternative_turns_the_other_figures_not_the_looks_the_run_decided(Alternative alternative)
    {
        var rows = Arm("sgd", [90.0, 90.1, 90.05]).Concat(Arm("sam", [92.0, 92.2, 92.1])).ToList();
        var plan = Plan([3, 6]);
        var report = Build(rows, plan, alternative);
        Assert.Equal(Sequential(Build(rows, plan)).ToJsonString(), Sequential(report).ToJsonString());
        Assert.Equal("efficacy", Sequential(report)["decision"]!.GetValue<string>());
        Assert.Contains(report.Notes, n => n.Contains("the sequential looks are stated as the run decided them, one-sided (treatment > sgd)"));
    }

    /// <summary>Designs of both families (not tuned to our figures) with z just past the boundary, well past it, and far
    /// past it at each look; the looks before stay under their boundaries.</summary>
    static readonly (int[] Looks, double Alpha, SpendingFamily Family)[] StagewiseDesigns =
    [
        ([5, 10, 20, 30], 0.05, SpendingFamily.OBrienFleming),
        ([3, 6, 9], 0.025, SpendingFamily.Pocock),
        ([2, 4], 0.05, SpendingFamily.OBrienFleming),
        ([4, 7, 40], 0.2, SpendingFamily.Pocock),
    ];

    // Two studies of final test accuracies, repeat by repeat (SAM, SGD): both stop for efficacy at look 2 of 3 (3, 6, 9).
    static readonly double[] RpactSam = [91.3, 92.1, 90.4, 93.0, 92.2, 91.9], RpactSgd = [90.1, 89.7, 90.5, 90.2, 90.4, 89.9];

    /// <summary>
    /// rpact, recomputed now in one R run. On the z scale (normalApproximation = TRUE, overall data that put Z_k where
    /// wanted) rpact's final p-value is a function of z and the design alone: ours equals it to 1e-6. Then whole reports:
    /// a Welch study (equalVariances = FALSE: Welch's t and df) and a paired one (one-sample t on the differences), with
    /// rpact's t statistics and the stage-wise data of each look: the report's stage-wise p equals rpact's final p-value
    /// and its repeated CI rpact's repeated confidence interval at the look that stopped.
    /// </summary>
    [SkippableFact]
    public void Rpact_recomputed_now_agrees()
    {
        var rscript = Rpact.Rscript();
        Skip.If(rscript is null, "no Rscript with rpact here (apt-get install -y r-cran-rpact)");
        var inv = CultureInfo.InvariantCulture;
        string R(double x) => x.ToString("R", inv);
        string Vector(IEnumerable<double> xs) => $"c({string.Join(", ", xs.Select(R))})";
        string Type(SpendingFamily f) => f == SpendingFamily.OBrienFleming ? "'asOF'" : "'asP'";

        var script = new System.Text.StringBuilder("""
            suppressMessages(library(rpact))
            design <- function(looks, alpha, type) getDesignGroupSequential(kMax = length(looks), alpha = alpha, sided = 1,
              typeOfDesign = type, informationRates = looks / looks[length(looks)], tolerance = 1e-10)
            zcase <- function(id, looks, alpha, type) {
              d <- design(looks, alpha, type)
              for (k in seq_along(looks)) for (off in c(0.01, 0.7, 2)) {
                N <- looks[1:k]; zk <- d$criticalValues[k] + off
                z <- c(pmin(zk * sqrt(N[seq_len(k - 1)] / N[k]), d$criticalValues[seq_len(k - 1)] - 0.3), zk)
                ds <- getDataset(overallN1 = N, overallN2 = N, overallMeans1 = z * sqrt(2 / N), overallMeans2 = rep(0, k),
                  overallStDevs1 = rep(1, k), overallStDevs2 = rep(1, k))
                f <- getFinalPValue(getStageResults(d, ds, stage = k, normalApproximation = TRUE))
                cat('Z', id, k, f$finalStage, sprintf('%.17g', zk), sprintf('%.17g', f$pFinal), '\n')
              }
            }
            tcase <- function(id, d, ds, stage, ...) {
              f <- getFinalPValue(getStageResults(d, ds, stage = stage, normalApproximation = FALSE, ...))
              ci <- getRepeatedConfidenceIntervals(d, ds, normalApproximation = FALSE, stage = stage, tolerance = 1e-12, ...)
              cat('T', id, f$finalStage, sprintf('%.17g', f$pFinal), sprintf('%.17g', ci[, stage]), '\n')
            }
            stages <- list(1:3, 4:6)
            """).AppendLine();
        script.AppendLine("suppressWarnings({");
        foreach (var (design, i) in StagewiseDesigns.Select((d, i) => (d, i)))
            script.AppendLine($"zcase({i}, {Vector(design.Looks.Select(l => (double)l))}, {R(design.Alpha)}, {Type(design.Family)})");
        script.AppendLine($"""
            x <- {Vector(RpactSam)}; y <- {Vector(RpactSgd)}
            tcase('welch', design(c(3, 6, 9), 0.05, 'asP'), getDataset(n1 = c(3, 3), n2 = c(3, 3),
              means1 = sapply(stages, function(i) mean(x[i])), means2 = sapply(stages, function(i) mean(y[i])),
              stDevs1 = sapply(stages, function(i) sd(x[i])), stDevs2 = sapply(stages, function(i) sd(y[i]))), 2, equalVariances = FALSE)
            dd <- x - y
            tcase('paired', design(c(3, 6, 9), 0.05, 'asOF'), getDataset(n = c(3, 3),
              means = sapply(stages, function(i) mean(dd[i])), stDevs = sapply(stages, function(i) sd(dd[i]))), 2)
            """);
        script.AppendLine("})");
        var lines = Rpact.Output(rscript!, script.ToString()).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
        double D(string text) => double.Parse(text, inv);

        var designs = StagewiseDesigns.Select(d => GroupSequentialDesign.Create(d.Looks, d.Alpha, d.Family)).ToList();
        var zLines = lines.Where(l => l[0] == "Z").ToList();
        Assert.Equal(StagewiseDesigns.Sum(d => d.Looks.Length) * 3, zLines.Count);
        var worst = 0.0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        foreach (var line in zLines)
        {
            var (design, look, z, reference) = (designs[int.Parse(line[1], inv)], int.Parse(line[2], inv), D(line[4]), D(line[5]));
            Assert.Equal(line[2], line[3]);   // rpact's study stopped at the look meant
            var ours = design.StagewisePValue(look, z);
            worst = Math.Max(worst, Math.Abs(ours - reference));
            Assert.True(Math.Abs(ours - reference) < 1e-6,
                $"looks {string.Join(',', design.Looks)} {design.SpendingName} look {look} z {z:R}: ours {ours:R}, rpact {reference:R}");
        }
        output.WriteLine($"stage-wise p of {zLines.Count} (design, look, z): largest difference from rpact's final p-value {worst:E2} ({clock.Elapsed.TotalSeconds:F1} s here)");

        foreach (var (test, spending) in new[] { (SequentialPlan.Welch, SequentialPlan.Pocock), (SequentialPlan.Paired, SequentialPlan.OBrienFleming) })
        {
            var reference = lines.Single(l => l[0] == "T" && l[1] == test);
            var json = Sequential(Build(Arm("sgd", RpactSgd).Concat(Arm("sam", RpactSam)), Plan([3, 6, 9], spending, test: test)));
            Assert.Equal("2", reference[2]);
            Assert.Equal(2, json["look"]!.GetValue<int>());
            Assert.Equal("efficacy", json["decision"]!.GetValue<string>());
            var (p, low, high) = (Number(json, "p_value_stagewise"), json["repeated_ci"]![0]!.GetValue<double>(), json["repeated_ci"]![1]!.GetValue<double>());
            output.WriteLine($"{test}: stage-wise p {p:R} (rpact {reference[3]}), repeated CI [{low:R}, {high:R}] (rpact [{reference[4]}, {reference[5]}])");
            Assert.Equal(D(reference[3]), p, 1e-6);
            Assert.Equal(D(reference[4]), low, 1e-6);
            Assert.Equal(D(reference[5]), high, 1e-6);
        }
    }
}

/// <summary>`samcluster report RUN_DIR` states the looks of a run whose run.json has `sequential`; a trials.csv alone has
/// no design, and a run.json whose design is no design is refused, one line.</summary>
[Collection(InProcessCli.Name)]
public sealed class SequentialReportCommandTests(ITestOutputHelper log) : BadInputTest(log)
{
    string RunFolder(SequentialPlan? plan)
    {
        var dir = Directory.CreateDirectory(Path.Combine(Work, "run")).FullName;
        TrialResultRow Row(string optimizer, int repeat, double test) =>
            new("fashion-mnist", "resnet18", optimizer, repeat, true, 99.0, test, 100, 3, null, 0);
        double[] sgd = [90.0, 90.1, 90.05], sam = [92.0, 92.2, 92.1];
        File.WriteAllText(Path.Combine(dir, "trials.csv"), ResultsCsv.WriteTrials(
            sgd.Select((t, i) => Row("sgd", i + 1, t)).Concat(sam.Select((t, i) => Row("sam", i + 1, t)))));
        RunManifestFile.Write(Path.Combine(dir, RunManifestFile.FileName),
            new RunManifest("abcdef0123456789", "/grids/seq.yaml", DateTimeOffset.UnixEpoch, RunId: "r1", Sequential: plan));
        return dir;
    }

    CliRun Report(params string[] args) => InProcessCli.RunWithin(TimeSpan.FromSeconds(60), Work, ["report", .. args]);

    [Fact]
    public void A_run_folder_reports_its_looks_and_its_trials_csv_alone_does_not()
    {
        var dir = RunFolder(new SequentialPlan([3, 6], 0.05, SequentialPlan.Pocock, null, SequentialPlan.Welch));
        var json = Report(dir, "--format", "json");
        Assert.True(json.ExitCode == 0, json.ToString());
        Assert.Equal("efficacy", JsonNode.Parse(json.Stdout)![0]!["comparisons"]![0]!["sequential"]!["decision"]!.GetValue<string>());
        var md = Report(dir);
        Assert.Contains("6 of 12 trials: 50 % saved", md.Stdout);

        var csvOnly = Report(Path.Combine(dir, "trials.csv"), "--format", "json");
        Assert.True(csvOnly.ExitCode == 0, csvOnly.ToString());
        Assert.DoesNotContain("sequential", csvOnly.Stdout);

        var written = Report(dir, "--write");
        Assert.True(written.ExitCode == 0, written.ToString());
        Assert.Contains("\"sequential\"", File.ReadAllText(Path.Combine(dir, "report.json")));
    }

    [Fact]
    public void A_run_json_whose_design_is_no_design_is_refused()
    {
        var dir = RunFolder(new SequentialPlan([6, 3], 0.05, SequentialPlan.Pocock, null, SequentialPlan.Welch));
        Refused(Report(dir), "run.json", "'sequential'", "looks must increase");
    }
}
