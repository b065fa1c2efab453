using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using SamCluster.Experiment;
using SamCluster.Experiment.Grid;
using SamCluster.Reporting;
using Xunit;

namespace SamCluster.Tests.Reporting;

/// <summary>Issue 27 point 2: report.md opens with one verdict sentence per comparison (the "beats" and the "no evidence"
/// forms, and a power figure above the `repeats` cap said as such), a per-repeat table paired by repeat, and links to
/// pictures that exist, among them a paired-difference dot plot per comparison.</summary>
public sealed class VerdictTests
{
    static TrialResultRow Trial(string optimizer, int repeat, double test, bool completed = true, string dataset = "fashion-mnist",
        string model = "resnet18") =>
        new(dataset, model, optimizer, repeat, completed, completed ? 99.0 : null, completed ? test : null, completed ? 100 : null,
            3, completed ? null : "out of memory", 0);

    static IEnumerable<TrialResultRow> Arm(string optimizer, params double[] tests) => tests.Select((t, i) => Trial(optimizer, i + 1, t));

    static string F2(double x) => x.ToString("0.00", CultureInfo.InvariantCulture);

    /// <summary>A p-value as report.md writes it.</summary>
    static string PText(double p) => p.ToString(p < 0.001 ? "0.0e+0" : "0.000", CultureInfo.InvariantCulture);

    [Fact]
    public void A_clear_gain_reads_as_SAM_beats_SGD_with_its_CI_p_test_and_repeats()
    {
        var report = ReportBuilder.Build([.. Arm("sgd", 90.1, 90.3, 89.9, 90.2, 90.0), .. Arm("sam", 91.2, 91.0, 91.4, 91.1, 91.3)],
            new ReportOptions(Curves: false));
        var (g, c) = (report.Groups[0], report.Groups[0].Comparisons[0]);
        var r = c.Result;
        Assert.True(r.PValue < 0.05);
        Assert.Equal($"Fashion-MNIST / ResNet-18: SAM beats SGD by +{F2(r.MeanDifference!.Value)} pp [95 % CI {F2(r.CiLow!.Value)}, " +
                     $"{F2(r.CiHigh!.Value)}], p = {PText(r.PValue!.Value)} (Welch, one-sided), 5 vs 5 repeats.", report.VerdictOf(g, c));
    }

    [Fact]
    public void The_runs_index_and_report_md_find_the_same_whatever_the_gain_and_the_number_of_comparisons()
    {
        // One rule (Verdict.Find) for report.md's sentence and the short verdict of `runs`/`serve`/`report --compare`:
        // across gains from none to clear, with one comparison and with three (Holm), both say the same thing.
        foreach (var gain in new[] { 0.0, 0.2, 0.4, 0.6, 0.8, 1.2 })
            foreach (var optimizers in new[] { new[] { "sam" }, new[] { "sam", "asam", "msam" } })
            {
                var rows = Arm("sgd", 90.1, 90.3, 89.9, 90.2, 90.0)
                    .Concat(optimizers.SelectMany(o => Arm(o, 90.1 + gain, 90.5 + gain, 89.8 + gain, 90.2 + gain, 90.1 + gain))).ToList();
                var report = ReportBuilder.Build(rows, new ReportOptions(Curves: false));
                foreach (var c in report.Groups[0].Comparisons)
                {
                    var sentence = report.VerdictOf(report.Groups[0], c);
                    var brief = ComparisonVerdict.Of(c, report.Options.Alternative, report.ComparisonCount > 1);
                    Assert.True(sentence.Contains(" beats SGD by ") == brief.EndsWith(" better", StringComparison.Ordinal), $"{sentence}\n{brief}");
                    Assert.True(sentence.Contains("no evidence") == brief.Contains("no evidence"), $"{sentence}\n{brief}");
                }
            }
    }

    [Fact]
    public void The_sentence_names_the_test_its_sides_and_a_loss_as_falling_below()
    {
        var rows = Arm("sgd", 91.2, 91.0, 91.4, 91.1, 91.3).Concat(Arm("sam", 90.1, 90.3, 89.9, 90.2, 90.0)).ToList();
        var twoSided = ReportBuilder.Build(rows, new ReportOptions(Alternative.TwoSided, Curves: false));
        Assert.Matches(@"^Fashion-MNIST / ResNet-18: SAM falls below SGD by -1\.10 pp \[95 % CI -[0-9.]+, -[0-9.]+\], p = [0-9.e-]+ \(Welch, two-sided\), 5 vs 5 repeats\.$",
            twoSided.VerdictOf(twoSided.Groups[0], twoSided.Groups[0].Comparisons[0]));
        var paired = ReportBuilder.Build(rows, new ReportOptions(Alternative.Greater, TestKind.Paired, Curves: false));
        var sentence = paired.VerdictOf(paired.Groups[0], paired.Groups[0].Comparisons[0]);
        Assert.StartsWith("Fashion-MNIST / ResNet-18: no evidence that SAM beats SGD (-1.10 pp", sentence);
        Assert.EndsWith("(paired t, one-sided), 5 vs 5 repeats (5 pairs)); the observed difference points the other way, so no number of repeats would show it.", sentence);
    }

    [Fact]
    public void No_evidence_says_so_with_the_repeats_per_arm_detecting_the_difference_would_take()
    {
        var report = ReportBuilder.Build([.. Arm("sgd", 90.0, 91.0, 89.5, 90.5, 90.2), .. Arm("sam", 90.4, 91.1, 89.8, 90.9, 90.1)],
            new ReportOptions(Curves: false));
        var (g, c) = (report.Groups[0], report.Groups[0].Comparisons[0]);
        var n = c.Power!.NForPower80!.Value;
        Assert.InRange(n, 6, GridConfig.MaxRepeats);
        var sentence = report.VerdictOf(g, c);
        Assert.StartsWith($"Fashion-MNIST / ResNet-18: no evidence that SAM beats SGD (+{F2(c.Result.MeanDifference!.Value)} pp [95 % CI ", sentence);
        Assert.Contains("(Welch, one-sided), 5 vs 5 repeats)", sentence);
        Assert.EndsWith($"; detecting this difference would take ~{n} repeats per arm (80 % power).", sentence);
        Assert.False(JsonNode.Parse(JsonReport.Write(report))![0]!["comparisons"]![0]!["n_for_power80_above_cap"]!.GetValue<bool>());
    }

    [Fact]
    public void A_power_figure_above_the_repeats_cap_is_said_as_such_not_as_a_number()
    {
        // A tiny gain under a wide spread: thousands of repeats per arm (the issue saw "about 5195").
        var report = ReportBuilder.Build([.. Arm("sgd", 88.0, 92.0, 89.0, 91.0, 90.0), .. Arm("sam", 88.1, 92.0, 89.1, 91.0, 90.1)],
            new ReportOptions(Curves: false));
        var (g, c) = (report.Groups[0], report.Groups[0].Comparisons[0]);
        var n = c.Power!.NForPower80!.Value;
        Assert.True(n > GridConfig.MaxRepeats, $"{n} repeats");
        var sentence = report.VerdictOf(g, c);
        Assert.EndsWith("; detecting this difference would take more than the 1000 repeats per arm a grid allows.", sentence);
        var md = MarkdownReport.Write(report);
        Assert.Contains("would take more than the 1000 repeats per arm a grid allows (5 now)", md);
        Assert.DoesNotContain(n.ToString(CultureInfo.InvariantCulture), md);
        var json = JsonNode.Parse(JsonReport.Write(report))![0]!;
        Assert.True(json["comparisons"]![0]!["n_for_power80_above_cap"]!.GetValue<bool>());
        Assert.Equal(n, json["n_for_power80"]!.GetValue<int>());   // the key keeps its figure
    }

    [Fact]
    public void Report_md_opens_with_the_verdicts_and_the_note_on_the_schedule()
    {
        var rows = Arm("sgd", 90.1, 90.3, 89.9).Concat(Arm("sam", 91.2, 91.0, 91.4)).Concat(Arm("asam", 90.0, 90.4, 90.1)).ToList();
        var report = ReportBuilder.Build(rows, new ReportOptions(Curves: false));
        var md = MarkdownReport.Write(report);
        var lines = md.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        Assert.Equal(["# SAM vs SGD: results", "", "## Verdict", ""], lines.Take(4));
        var g = report.Groups[0];
        Assert.Equal(lines[4], "- " + report.VerdictOf(g, g.ComparisonOf("sam")!));
        Assert.Equal(lines[5], "- " + report.VerdictOf(g, g.ComparisonOf("asam")!));
        // Two comparisons: Holm's p decides and is stated.
        Assert.Contains("; Holm-adjusted ", lines[4]);
        Assert.StartsWith("Fashion-MNIST / ResNet-18: no evidence that ASAM beats SGD", report.VerdictOf(g, g.ComparisonOf("asam")!));
        Assert.Contains(Verdict.ScheduleNote, md);
        Assert.True(md.IndexOf("## Verdict", StringComparison.Ordinal) < md.IndexOf("| Dataset |", StringComparison.Ordinal));
        var json = JsonNode.Parse(JsonReport.Write(report))![0]!;
        Assert.Equal(report.VerdictOf(g, g.ComparisonOf("sam")!), json["verdict"]!.GetValue<string>());
        Assert.Equal(report.VerdictOf(g, g.ComparisonOf("asam")!), json["comparisons"]![1]!["verdict"]!.GetValue<string>());
    }

    [Fact]
    public void A_comparison_without_a_test_says_why()
    {
        var report = ReportBuilder.Build([.. Arm("sgd", 90.1, 90.3), Trial("sam", 1, 91, completed: false)], new ReportOptions(Curves: false));
        var (g, c) = (report.Groups[0], report.Groups[0].Comparisons[0]);
        Assert.Equal("Fashion-MNIST / ResNet-18: no test of SAM against SGD (no completed sam trials).", report.VerdictOf(g, c));
    }

    [Fact]
    public void The_per_repeat_table_pairs_by_repeat_and_says_which_side_is_missing_and_why()
    {
        var rows = new List<TrialResultRow>
        {
            Trial("sgd", 1, 90.0), Trial("sgd", 2, 90.5), Trial("sgd", 3, 90.25),
            Trial("sam", 1, 91.0), Trial("sam", 2, 90.25), Trial("sam", 3, 0, completed: false), Trial("sam", 4, 92.0),
        };
        var report = ReportBuilder.Build(rows, new ReportOptions(Curves: false));
        var (g, c) = (report.Groups[0], report.Groups[0].Comparisons[0]);
        var pairs = RepeatPair.Of(g, c);
        Assert.Equal([1, 2, 3, 4], pairs.Select(p => p.Repeat));
        Assert.Equal([1.0, -0.25, null, null], pairs.Select(p => p.Difference));
        Assert.Equal((RepeatPair.Failed, null), (pairs[2].TreatmentMissing, pairs[2].ControlMissing));
        Assert.Equal((null, RepeatPair.NotRun), (pairs[3].TreatmentMissing, pairs[3].ControlMissing));

        var md = MarkdownReport.Write(report);
        Assert.Contains("### Fashion-MNIST / ResNet-18: SAM − SGD", md);
        Assert.Contains("| Repeat | SGD test acc | SAM test acc | SAM − SGD (pp) |", md);
        Assert.Contains("| 1 | 90.000 | 91.000 | +1.000 |", md);
        Assert.Contains("| 2 | 90.500 | 90.250 | -0.250 |", md);
        Assert.Contains("| 3 | 90.250 | failed | – |", md);
        Assert.Contains("| 4 | not run | 92.000 | – |", md);
        Assert.Contains("Mean difference +0.38 pp over 2 pair(s) (sd 0.88); SAM ahead in 1 of 2. Without a pair: repeat 3 (SAM failed), 4 (SGD not run).", md);

        var perRepeat = JsonNode.Parse(JsonReport.Write(report))![0]!["comparisons"]![0]!["per_repeat"]!.AsArray();
        Assert.Equal(4, perRepeat.Count);
        Assert.Equal(1.0, perRepeat[0]!["difference"]!.GetValue<double>());
        Assert.Equal("failed", perRepeat[2]!["treatment_missing"]!.GetValue<string>());
        Assert.Null(perRepeat[3]!["control"]);
    }

    [Fact]
    public void A_sequential_verdict_states_the_decision_its_looks_took()
    {
        var plan = new SequentialPlan([3, 6], 0.05, SequentialPlan.Pocock, null, SequentialPlan.Welch);
        var rows = Arm("sgd", 90.0, 90.1, 90.05).Concat(Arm("sam", 92.0, 92.2, 92.1)).ToList();
        var report = ReportBuilder.Build(rows, new ReportOptions(Curves: false, Sequential: plan));
        var (g, c) = (report.Groups[0], report.Groups[0].Comparisons[0]);
        var sentence = report.VerdictOf(g, c);
        Assert.StartsWith("Fashion-MNIST / ResNet-18: SAM beats SGD by +2.05 pp [repeated CI ", sentence);
        // The words of the Sequential design section's own sentence for this comparison.
        Assert.Contains("; stopped at look 1: SAM better (3 of 6 repeats per arm).", sentence);
        Assert.Contains("- fashion-mnist/resnet18: stopped at look 1: SAM better", MarkdownReport.Write(report));

        var open = ReportBuilder.Build(Arm("sgd", 90.0, 91.0).Concat(Arm("sam", 90.5, 90.4)).ToList(), new ReportOptions(Curves: false, Sequential: plan));
        Assert.Equal("Fashion-MNIST / ResNet-18: no verdict yet on SAM against SGD: look 1 of 2 not complete (3 repeats per arm).",
            open.VerdictOf(open.Groups[0], open.Groups[0].Comparisons[0]));
    }

    [Fact]
    public void Report_md_links_pictures_that_exist_among_them_each_comparisons_paired_dot_plot()
    {
        var dir = Directory.CreateTempSubdirectory("samcluster-verdict-").FullName;
        try
        {
            var trials = Arm("sgd", 90.1, 90.3, 89.9).Concat(Arm("sam", 91.2, 91.0, 91.4)).ToList();
            var epochs = trials.SelectMany(t => Enumerable.Range(1, 3).Select(e =>
                new EpochResultRow(t.Dataset, t.Model, t.Optimizer, t.Repeat, e, 80 + 5 * e, t.TestAcc!.Value - 3 + e, 0.5 / e, 0.6 / e, 0,
                    LearningRate: 0.01))).ToList();
            var report = RunReport.WriteAll(dir, new ReportRows(trials, epochs), new ReportOptions());
            var md = File.ReadAllText(Path.Combine(dir, RunReport.Markdown));
            var links = Regex.Matches(md, @"!\[[^\]]*\]\(([^)]+)\)").Select(m => m.Groups[1].Value).ToList();
            Assert.Equal(["curves/fashion-mnist_resnet18_sam-sgd_paired.png", "curves/fashion-mnist_resnet18.png", "curves/test_accuracy.png"], links);
            foreach (var link in links)
            {
                var bytes = File.ReadAllBytes(Path.Combine(dir, link));
                Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], bytes.Take(4));
            }
            Assert.Equal(3, report.Pictures!.Count);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
