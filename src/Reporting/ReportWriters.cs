using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using SamCluster.Experiment;
using SamCluster.Experiment.Grid;

namespace SamCluster.Reporting;

/// <summary>report.md: laid out like the study's Figure 8 (rows dataset/model; per optimizer train and test accuracy
/// mean ± std and seconds; p-value), then one gain-and-price sentence per comparison, the test details, one power sentence
/// per comparison, notes and failed trials.</summary>
public static class MarkdownReport
{
    /// <param name="provenance">The run's run.json, for the closing provenance section; null: no such section.</param>
    public static string Write(Report report, RunManifest? provenance = null)
    {
        var md = new StringBuilder();
        var treatments = report.Optimizers.Where(o => o != report.Options.Control).ToList();
        md.AppendLine("# SAM vs SGD: results").AppendLine();
        VerdictSection(md, report);
        md.AppendLine($"Accuracies in percent, mean ± sample std (n − 1) over completed repeats; time = mean seconds per trial. " +
                      $"p-value: {report.Describe()}. " +
                      (report.ComparisonCount == 0 ? "No comparison has a p-value (see Notes)."
                          : report.Sequential is not null ? $"p (Holm): Holm-adjusted over the stage-wise p-values of the {report.ComparisonCount} comparison(s) of this sequential run that have one (see Sequential design)."
                          : $"p (Holm): Holm-adjusted over the {report.ComparisonCount} comparison(s) of this report that have a p-value."))
          .AppendLine();

        // A grid with axes has one row per recipe cell: its values get a column (the SGD arm has the values it shares).
        var withCells = report.Groups.Any(g => g.Cell is not null);
        var header = new List<string> { "Dataset", "Model", "Epochs" };
        if (withCells) header.Insert(2, "Recipe");
        foreach (var o in report.Optimizers)
            header.AddRange([$"{Up(o)} train acc", $"{Up(o)} test acc", $"{Up(o)} time (s)"]);
        header.AddRange(treatments.Select(t => treatments.Count == 1 ? "p-value" : $"p ({Up(t)} vs {Up(report.Options.Control)})"));
        Row(md, header);
        Row(md, header.Select((_, i) => i < (withCells ? 4 : 3) ? "---" : "---:"));
        foreach (var g in report.Groups)
        {
            var cells = new List<string> { g.Dataset, g.Model, g.Epochs?.ToString(CultureInfo.InvariantCulture) ?? "–" };
            if (withCells) cells.Insert(2, g.Cell ?? "–");
            foreach (var o in report.Optimizers)
            {
                var arm = g.Arm(o);
                cells.AddRange([MeanStd(arm?.Train), MeanStd(arm?.Test), arm?.Seconds is { } s ? F(s.Mean, "0") : "–"]);
            }
            cells.AddRange(treatments.Select(t => P(g.Comparisons.FirstOrDefault(c => c.Treatment == t)?.Result.PValue)));
            Row(md, cells);
        }

        PriceSection(md, report);
        PerRepeatSection(md, report);
        PicturesSection(md, report);

        md.AppendLine().AppendLine("## Test details (test accuracy)").AppendLine();
        // Time ratio last: the columns before it stay where readers of this table found them.
        var details = new List<string> { "Dataset", "Model", "Comparison", "n", "Difference (pp)", "Statistic", "df", "p", "p (Holm)",
            "Hedges' g", "95% CI of difference", "Method", "Time ratio" };
        if (withCells) details.Insert(2, "Recipe");
        Row(md, details);
        Row(md, details.Select((_, i) => i < (withCells ? 4 : 3) || i == details.Count - 2 ? "---" : "---:"));
        foreach (var g in report.Groups)
            foreach (var c in g.Comparisons)
            {
                var r = c.Result;
                var n = $"{g.Arm(c.Treatment)?.N ?? 0} vs {g.Arm(c.Control)?.N ?? 0}" + (r.Pairs is { } p ? $" ({p} pairs)" : "");
                var stat = r.Statistic is { } st ? (r.Test == TestKind.MannWhitney ? "U = " + F(st, "0.#") : "t = " + F(st, "0.000")) : "–";
                var ci = r.CiLow is { } lo && r.CiHigh is { } hi ? $"[{F(lo, "0.000")}, {F(hi, "0.000")}]" : "–";
                List<string> row = [g.Dataset, g.Model, $"{Up(c.Treatment)} vs {Up(c.Control)}", n, Num(r.MeanDifference, "0.000"), stat,
                    Num(r.Df, "0.00"), P(r.PValue), P(c.PHolm), Num(r.HedgesG, "0.000"), ci, r.Method, Num(c.TimeRatio, "0.00")];
                if (withCells) row.Insert(2, g.Cell ?? "–");
                Row(md, row);
            }

        if (report.Sequential is { } sequential) SequentialSection(md, report, sequential);

        var powered = report.Groups.SelectMany(g => g.Comparisons.Where(c => c.Power is not null).Select(c => (g, c))).ToList();
        if (powered.Count > 0)
        {
            md.AppendLine().AppendLine("## Power (test accuracy)").AppendLine();
            md.AppendLine($"At α = {F(PowerAnalysis.Alpha, "0.00")} and 80 % power, {PowerSide(report)}, for the report's test with each " +
                          "arm's observed sd (noncentral t): the repeats per arm needed to detect the observed difference, and the " +
                          "smallest difference detectable with the repeats there are now.").AppendLine();
            foreach (var (g, c) in powered) md.AppendLine($"- {g.Label}, {Up(c.Treatment)} vs {Up(c.Control)}: {PowerSentence(g, c, report.Options)}");
        }

        var notes = report.Notes.Concat(report.Groups.SelectMany(g => g.Notes.Select(n => $"{g.Label}: {n}"))).ToList();

        if (report.Options.Test == TestKind.MannWhitney)
        {
            notes.Add("Mann–Whitney: the statistic is U of the optimizer named first; the CI shown is Welch's CI of the mean difference.");
            notes.Add(PowerAnalysis.MannWhitneyNote + ".");
        }
        if (notes.Count > 0)
        {
            md.AppendLine().AppendLine("## Notes").AppendLine();
            foreach (var note in notes) md.AppendLine($"- {note}");
        }

        var failed = report.Groups.SelectMany(g => g.FailedTrials).ToList();
        md.AppendLine().AppendLine($"## Failed trials ({failed.Count}, excluded from every figure above)").AppendLine();
        if (failed.Count == 0) md.AppendLine("None.");
        else
        {
            Row(md, withCells ? ["Dataset", "Model", "Recipe", "Optimizer", "Repeat", "Reason"] : ["Dataset", "Model", "Optimizer", "Repeat", "Reason"]);
            Row(md, withCells ? ["---", "---", "---", "---", "---:", "---"] : ["---", "---", "---", "---:", "---"]);
            foreach (var f in failed.DistinctBy(f => f.TrialId))
            {
                List<string> row = [f.Dataset, f.Model, f.Optimizer, f.Repeat.ToString(CultureInfo.InvariantCulture),
                    string.IsNullOrWhiteSpace(f.Reason) ? "–" : f.Reason.ReplaceLineEndings(" ")];
                if (withCells) row.Insert(2, f.Cell ?? "–");
                Row(md, row);
            }
        }
        if (provenance is not null) Provenance(md, provenance);
        return md.ToString();
    }

    /// <summary>The report's answer first (issue 27): one sentence per comparison (<see cref="Verdict"/>), then what the
    /// schedule's use of the test set means for the test figures.</summary>
    static void VerdictSection(StringBuilder md, Report report)
    {
        md.AppendLine("## Verdict").AppendLine();
        var compared = report.Groups.SelectMany(g => g.Comparisons.Select(c => (g, c))).ToList();
        if (compared.Count == 0) md.AppendLine("No comparison (see Notes).");
        foreach (var (g, c) in compared) md.AppendLine($"- {report.VerdictOf(g, c)}");
        md.AppendLine().AppendLine(Verdict.ScheduleNote).AppendLine();
    }

    /// <summary>Per comparison, each repeat's test accuracy on both sides and their difference (a repeat's two trials share
    /// seed, initial weights and data order), a missing side said as such, and the comparison's dot plot where drawn.</summary>
    static void PerRepeatSection(StringBuilder md, Report report)
    {
        var compared = report.Groups.SelectMany(g => g.Comparisons.Select(c => (g, c))).ToList();
        if (compared.Count == 0) return;
        md.AppendLine().AppendLine("## Per repeat (test accuracy, paired by repeat)").AppendLine();
        md.AppendLine("The two trials of a repeat share its seed, initial weights and data order, so each repeat's difference is a " +
                      "paired comparison. A side without a value says why: failed, or not run.");
        foreach (var (g, c) in compared)
        {
            var (t, b) = (Up(c.Treatment), Up(c.Control));
            md.AppendLine().AppendLine($"### {Verdict.Label(g)}: {t} − {b}").AppendLine();
            var pairs = RepeatPair.Of(g, c);
            Row(md, ["Repeat", $"{b} test acc", $"{t} test acc", $"{t} − {b} (pp)"]);
            Row(md, ["---:", "---:", "---:", "---:"]);
            foreach (var p in pairs)
                Row(md, [p.Repeat.ToString(CultureInfo.InvariantCulture), p.Control is { } cv ? F(cv, "0.000") : p.ControlMissing!,
                    p.Treatment is { } tv ? F(tv, "0.000") : p.TreatmentMissing!, p.Difference is { } d ? F(d, "+0.000;-0.000;0.000") : "–"]);
            var differences = pairs.Where(p => p.Difference is not null).Select(p => p.Difference!.Value).ToList();
            md.AppendLine();
            if (differences.Count > 0)
            {
                var summary = SampleSummary.Of(differences);
                md.Append($"Mean difference {Verdict.Pp(summary.Mean)} pp over {differences.Count} pair(s)" +
                          (summary.N > 1 ? $" (sd {F(summary.Sd, "0.00")})" : "") +
                          $"; {t} ahead in {differences.Count(d => d > 0)} of {differences.Count}.");
            }
            else md.Append("No repeat has both sides.");
            var unpaired = pairs.Where(p => p.Difference is null)
                .Select(p => $"{p.Repeat} ({(p.Treatment is null ? $"{t} {p.TreatmentMissing}" : $"{b} {p.ControlMissing}")})").ToList();
            if (unpaired.Count > 0) md.Append($" Without a pair: repeat {string.Join(", ", unpaired)}.");
            md.AppendLine();
            if (report.PictureOf(g, c.Treatment) is { } picture) md.AppendLine().AppendLine($"![{picture.Caption}]({picture.Path})");
        }
    }

    /// <summary>Links to the learning curves and the test-accuracy plot written beside the report.</summary>
    static void PicturesSection(StringBuilder md, Report report)
    {
        var pictures = (report.Pictures ?? []).Where(p => p.Treatment is null).ToList();
        if (pictures.Count == 0) return;
        md.AppendLine().AppendLine("## Pictures").AppendLine();
        md.AppendLine("Learning curves: mean ± std over the repeats that reached each epoch; the legend gives n, and an epoch not " +
                      "every repeat has reached yet is drawn dashed with open markers, its n written at the point.");
        foreach (var p in pictures) md.AppendLine().AppendLine($"![{p.Caption}]({p.Path})");
    }

    /// <summary>Every comparison's gain with its price, one sentence each (issue 25): the study's own conclusion is such a
    /// trade-off (SAM: about +1 pp for 1.7–1.8× SGD's time).</summary>
    static void PriceSection(StringBuilder md, Report report)
    {
        var compared = report.Groups.SelectMany(g => g.Comparisons.Select(c => (g, c))).ToList();
        if (compared.Count == 0) return;
        md.AppendLine().AppendLine("## Gain and price").AppendLine();
        md.AppendLine("Per comparison: the difference in mean test accuracy (pp) with its 95 % CI, for the treatment's time per " +
                      "completed trial as a multiple of the control's, on one device kind (from images per second where the trials have them, " +
                      "else seconds; see the notes when trials ran elsewhere or under different conditions).").AppendLine();
        foreach (var (g, c) in compared) md.AppendLine($"- {g.Label}, {PriceSentence(g, c)}");
    }

    /// <summary>"SAM: +1.04 pp [0.20, 1.90] for 1.79× SGD's time.", or what is missing and why.</summary>
    internal static string PriceSentence(ReportGroup g, Comparison c)
    {
        var r = c.Result;
        var gain = r.MeanDifference is { } d
            ? $"{F(d, "+0.00;-0.00;0.00")} pp" + (r.CiLow is { } lo && r.CiHigh is { } hi ? $" [{F(lo, "0.00")}, {F(hi, "0.00")}]" : " (no CI)")
            : "no accuracy difference";
        if (c.TimeRatio is { } ratio) return $"{Title(c.Treatment)}: {gain} for {F(ratio, "0.00")}× {Title(c.Control)}'s time.";
        var empty = new[] { c.Treatment, c.Control }.FirstOrDefault(o => (g.Arm(o)?.N ?? 0) == 0);
        var why = empty is not null ? $"no completed {Title(empty)} trials" : c.NoTimeRatio ?? $"{Title(c.Control)}'s mean time is 0 s";
        return $"{Title(c.Treatment)}: {gain}; no time ratio ({why}).";
    }

    /// <summary>The vocabulary's title ("SAM"); a name it does not know (a hand-made trials.csv) in capitals.</summary>
    static string Title(string optimizer) => Vocabulary.FindOptimizer(optimizer)?.Title ?? Up(optimizer);

    /// <summary>What produced the run, from run.json: the program of its latest start and every node that ran a trial.</summary>
    static void Provenance(StringBuilder md, RunManifest run)
    {
        md.AppendLine().AppendLine("## Provenance").AppendLine();
        // Fingerprints and commits by their first 12 characters, as git shows a commit.
        static string Short(string hash) => hash[..Math.Min(12, hash.Length)];
        md.AppendLine($"- Run {run.RunId ?? "–"}, started {run.Created:yyyy-MM-dd HH:mm} UTC; grid {run.GridSource} (fingerprint {Short(run.GridFingerprint)}).");
        if (run.SamclusterVersion is not null)
        {
            var commit = run.GitCommit is { Length: > 0 } c ? $" (commit {Short(c)})" : "";
            md.AppendLine($"- SamCluster {run.SamclusterVersion}{commit}; {run.Dotnet}; TorchSharp {run.TorchSharp}; coordinator's libtorch {run.LibTorch}.");
        }
        if (run.CommandLine is { Count: > 0 } args) md.AppendLine($"- Command: `{string.Join(' ', args)}`");
        var nodes = run.Nodes ?? [];
        md.AppendLine($"- Nodes that ran trials: {nodes.Count}.");
        if (nodes.Count == 0) return;
        md.AppendLine();
        Row(md, ["Node", "Host", "CPU", "Cores", "Threads", "Devices", "GPU", "Driver", "libtorch"]);
        Row(md, ["---", "---", "---", "---:", "---:", "---", "---", "---", "---"]);
        foreach (var n in nodes)
            Row(md, [n.Name, n.Host ?? "–", n.CpuModel ?? "–", n.Cores?.ToString(CultureInfo.InvariantCulture) ?? "–",
                n.Threads?.ToString(CultureInfo.InvariantCulture) ?? "–", n.Devices is { Count: > 0 } d ? string.Join(", ", d) : "–",
                n.Gpus is { Count: > 0 } g ? string.Join(", ", g.GroupBy(x => x).Select(x => x.Count() > 1 ? $"{x.Count()} × {x.Key}" : x.Key)) : "–",
                n.GpuDriver ?? "–", n.LibTorch ?? "–"]);
    }

    /// <summary>The design, the trials run against the fixed design's, and one sentence per comparison: where its looks
    /// stand (<see cref="Sequential.LookResult.Describe"/>) with the stage-wise p and the repeated CI of that look.</summary>
    static void SequentialSection(StringBuilder md, Report report, SequentialSummary summary)
    {
        var plan = summary.Plan;
        md.AppendLine().AppendLine("## Sequential design").AppendLine();
        md.AppendLine($"Looks at {string.Join(", ", plan.Looks)} repeats per arm; one-sided alpha {F(plan.Alpha, "0.####")} per comparison; " +
                      $"{plan.Spending} alpha spending (Lan-DeMets); {(plan.Test == SequentialPlan.Paired ? "paired t on the repeats' differences" : "Welch's t")}" +
                      (plan.MarginPp is { } m ? $"; futility below a {F(m, "0.###")} pp gain (non-binding)" : "") + ". " +
                      "Stage-wise p: the stage-wise ordering p-value of the look shown; repeated CI: the difference's repeated confidence " +
                      "interval at that look (its coverage holds over all looks together).").AppendLine();
        var open = summary.Open > 0 ? $" so far; {summary.Open} comparison(s) still open" : "";
        md.AppendLine($"{summary.TrialsRun} of {summary.TrialsPlanned} trials: {F(summary.SavedPercent, "0")} % saved against the fixed design " +
                      $"(every arm to {plan.LastLook} repeats){open}.").AppendLine();
        var several = report.Optimizers.Count(o => o != report.Options.Control) > 1;
        foreach (var g in report.Groups)
            foreach (var c in g.Comparisons.Where(c => c.Sequential is not null))
            {
                var who = several ? $"{g.Label}, {Up(c.Treatment)} vs {Up(c.Control)}" : g.Label;
                md.AppendLine($"- {who}: {LookSentence(c, plan)}");
            }
    }

    internal static string LookSentence(Comparison c, SequentialPlan plan)
    {
        var s = c.Sequential!;
        if (s.Last is not { } look)
            return $"look 1 of {s.Looks} not complete yet ({s.RepeatsAtFirstLook} repeats per arm): no decision.";
        var figures = s.StagewisePValue is { } p && look.RepeatedCi is { } ci
            ? $"stage-wise p = {P(p)}; repeated CI of the difference [{F(ci.Low, "0.000")}, {F(ci.High, "0.000")}] pp"
            : "no spread in either arm: no test";
        return $"{look.Describe(Up(c.Treatment), plan.MarginPp)} ({look.NPerArm} of {plan.LastLook} repeats per arm; {figures}).";
    }

    static string PowerSide(Report report)
    {
        var treatments = string.Join("/", report.Optimizers.Where(o => o != report.Options.Control).Select(Up));
        return report.Options.Alternative switch
        {
            Alternative.Greater => $"one-sided ({treatments} > {Up(report.Options.Control)})",
            Alternative.Less => $"one-sided ({treatments} < {Up(report.Options.Control)})",
            _ => "two-sided",
        };
    }

    /// <summary>One plain sentence: the repeats for the observed difference (or why there is no such number), then the
    /// minimum detectable difference now.</summary>
    internal static string PowerSentence(ReportGroup g, Comparison c, ReportOptions options)
    {
        var power = c.Power!;
        var r = c.Result;
        var unit = options.Test == TestKind.Paired ? "pairs" : "repeats per arm";
        int nt = g.Arm(c.Treatment)?.N ?? 0, nc = g.Arm(c.Control)?.N ?? 0;
        var now = options.Test == TestKind.Paired ? $"{r.Pairs ?? 0} now" : nt == nc ? $"{nt} now" : $"{nt} {Up(c.Treatment)} and {nc} {Up(c.Control)} now";
        if (power.MdePp is not { } mde)
        {
            var why = power.Notes.LastOrDefault()?.Replace("no power figures: ", "") ?? "undefined";
            return $"no power figures ({why}).";
        }
        var observed = r.MeanDifference is { } d ? PowerAnalysis.Pp(d) : "?";
        var side = options.Alternative switch
        {
            Alternative.Greater => $"{Up(c.Treatment)} > {Up(c.Control)}",
            Alternative.Less => $"{Up(c.Treatment)} < {Up(c.Control)}",
            _ => "two-sided",
        };
        string first;
        var cap = GridConfig.MaxRepeats.ToString(CultureInfo.InvariantCulture);
        if (power.NForPower80 is { } above && above > GridConfig.MaxRepeats)
            first = $"to detect the observed {observed} pp with 80 % power would take more than the {cap} {unit} a grid allows ({now})";
        else if (power.NForPower80 is { } n)
            first = $"to detect the observed {observed} pp with 80 % power: about {n.ToString(CultureInfo.InvariantCulture)} {unit} ({now})";
        else if (r.MeanDifference == 0)
            first = $"the observed difference is 0 pp, so there is nothing to detect ({now})";
        else if (r.MeanDifference is { } diff && (options.Alternative == Alternative.Greater ? diff < 0 : options.Alternative == Alternative.Less && diff > 0))
            first = $"the observed {observed} pp is against the direction tested ({side}), so no number of repeats detects it ({now})";
        else
            first = $"to detect the observed {observed} pp with 80 % power would take more than the {cap} {unit} a grid allows ({now})";
        var direction = options.Alternative switch
        {
            Alternative.Less => $" ({Up(c.Treatment)} below {Up(c.Control)})",
            Alternative.TwoSided => " either way",
            _ => "",
        };
        var welch = options.Test == TestKind.MannWhitney ? " (Welch's figures: Mann–Whitney has no closed form)" : "";
        return $"{first}; the smallest difference detectable now is {F(mde, "0.000")} pp{direction}{welch}.";
    }

    static void Row(StringBuilder md, IEnumerable<string> cells) =>
        md.Append("| ").Append(string.Join(" | ", cells.Select(c => c.Replace("|", "\\|")))).AppendLine(" |");

    static string MeanStd(SampleSummary? s) => s is null ? "–" : s.N < 2 ? $"{F(s.Mean, "0.000")} (n = 1)" : $"{F(s.Mean, "0.000")} ± {F(s.Sd, "0.000")}";

    internal static string P(double? p) => p switch
    {
        null => "–",
        < 0.001 => p.Value.ToString("0.0e+0", CultureInfo.InvariantCulture),
        _ => F(p.Value, "0.000"),
    };

    static string Num(double? x, string format) => x is null ? "–" : F(x.Value, format);

    static string F(double x, string format) => x.ToString(format, CultureInfo.InvariantCulture);

    /// <summary>An optimizer as reports name it: its vocabulary title ("SAM", "Momentum-SAM"), or the name in capitals for
    /// one the vocabulary does not know (a bare trials.csv may hold any).</summary>
    internal static string Up(string optimizer) =>
        SamCluster.Experiment.Vocabulary.FindOptimizer(optimizer)?.Title ?? optimizer.ToUpperInvariant();
}

/// <summary>report.csv: one row per (dataset, model, recipe cell), flat columns: arm columns per optimizer
/// ("sgd_test_mean", ...), unprefixed t/df/p... for the primary comparison (SAM vs SGD) and prefixed ones
/// ("asam_vs_sgd_p_value", ...) for any other optimizer, notes, the power columns (mde_pp, n_for_power80; prefixed
/// likewise), the row's recipe cell, a sequential run's look columns, and last time_ratio (prefixed likewise).</summary>
public static class CsvReport
{
    public static string Write(Report report)
    {
        var control = report.Options.Control;
        var others = report.Optimizers.Where(o => o != control && o != report.PrimaryTreatment).ToList();
        var header = new List<string> { "dataset", "model", "epochs" };
        foreach (var o in report.Optimizers)
            header.AddRange(ArmColumns.Select(c => $"{o}_{c}"));
        header.AddRange(["test", "alternative", "t", "df", "p_value", "p_holm", "hedges_g", "diff_mean", "diff_ci95_lo", "diff_ci95_hi"]);
        foreach (var t in others)
            header.AddRange(ComparisonColumns.Select(c => $"{t}_vs_{control}_{c}"));
        header.Add("notes");
        // Power columns come after every older column, so a reader that goes by position still finds those where they were.
        header.AddRange(PowerColumns);
        foreach (var t in others)
            header.AddRange(PowerColumns.Select(c => $"{t}_vs_{control}_{c}"));
        header.Add("cell");
        // A sequential run's columns come after those, and only then: readers of a fixed run's report.csv see it as before.
        var sequential = report.Sequential is not null;
        if (sequential)
        {
            header.AddRange(SequentialColumns);
            foreach (var t in others)
                header.AddRange(SequentialColumns.Select(c => $"{t}_vs_{control}_{c}"));
        }
        // The time ratio last of all, so every older column of either kind of run keeps its position.
        header.Add(TimeRatioColumn);
        header.AddRange(others.Select(t => $"{t}_vs_{control}_{TimeRatioColumn}"));

        var records = new List<string[]> { header.ToArray() };
        foreach (var g in report.Groups)
        {
            var cells = new List<string> { g.Dataset, g.Model, g.Epochs?.ToString(CultureInfo.InvariantCulture) ?? "" };
            foreach (var o in report.Optimizers)
            {
                var a = g.Arm(o);
                cells.AddRange([I(a?.N ?? 0), I(a?.Failed ?? 0), N(a?.Train?.Mean), N(Sd(a?.Train)), N(a?.Test?.Mean), N(Sd(a?.Test)),
                    N(a?.Seconds?.Mean), N(Sd(a?.Seconds))]);
            }
            var primary = g.ComparisonOf(report.PrimaryTreatment);
            cells.AddRange([ReportOptions.Name(report.Options.Test), ReportOptions.Name(report.Options.Alternative)]);
            cells.AddRange(Stats(primary));
            foreach (var t in others)
                cells.AddRange(Stats(g.ComparisonOf(t)));
            cells.Add(string.Join("; ", g.Notes));
            cells.AddRange(PowerStats(primary));
            foreach (var t in others)
                cells.AddRange(PowerStats(g.ComparisonOf(t)));
            cells.Add(g.Cell ?? "");
            if (sequential)
            {
                cells.AddRange(SequentialStats(primary));
                foreach (var t in others)
                    cells.AddRange(SequentialStats(g.ComparisonOf(t)));
            }
            cells.Add(N(primary?.TimeRatio));
            cells.AddRange(others.Select(t => N(g.ComparisonOf(t)?.TimeRatio)));
            records.Add(cells.ToArray());
        }
        // Lines end as this platform's text files do, as report.md's do.
        return CsvText.Write(csv => { foreach (var record in records) csv.WriteRecord(record); }, Environment.NewLine);
    }

    static readonly string[] ArmColumns = ["n", "failed", "train_mean", "train_std", "test_mean", "test_std", "seconds_mean", "seconds_std"];
    static readonly string[] ComparisonColumns = ["t", "df", "p_value", "p_holm", "hedges_g", "diff_mean", "diff_ci95_lo", "diff_ci95_hi"];

    static readonly string[] PowerColumns = ["mde_pp", "n_for_power80"];

    const string TimeRatioColumn = "time_ratio";

    static readonly string[] SequentialColumns =
    [
        "sequential_look", "sequential_looks", "sequential_n_per_arm", "sequential_decision", "sequential_statistic", "sequential_df",
        "sequential_nominal_alpha", "sequential_p_value_stagewise", "sequential_repeated_ci_lo", "sequential_repeated_ci_hi",
    ];

    static IEnumerable<string> SequentialStats(Comparison? c)
    {
        var s = c?.Sequential;
        var look = s?.Last;
        return [look is null ? "" : I(look.Look), s is null ? "" : I(s.Looks), look is null ? "" : I(look.NPerArm),
            look is null ? "" : Sequential.LookResult.NameOf(look.Decision), N(look?.Statistic), N(look?.Df), N(look?.NominalAlpha),
            N(s?.StagewisePValue), N(look?.RepeatedCi?.Low), N(look?.RepeatedCi?.High)];
    }

    static IEnumerable<string> PowerStats(Comparison? c) =>
        [N(c?.Power?.MdePp), c?.Power?.NForPower80 is { } n ? I(n) : ""];

    static IEnumerable<string> Stats(Comparison? c)
    {
        var r = c?.Result;
        return [N(r?.Statistic), N(r?.Df), N(r?.PValue), N(c?.PHolm), N(r?.HedgesG), N(r?.MeanDifference), N(r?.CiLow), N(r?.CiHigh)];
    }

    internal static double? Sd(SampleSummary? s) => s is { N: >= 2 } ? s.Sd : null;

    static string N(double? x) => x?.ToString("R", CultureInfo.InvariantCulture) ?? "";
    static string I(int x) => x.ToString(CultureInfo.InvariantCulture);
}

/// <summary>report.json: an array, one object per (dataset, model, recipe cell). Undefined figures are null, never NaN,
/// and the object's "notes" says why. "time_ratio" is each comparison's price (its flat copy the primary's). "cell" and each comparison's "recipe" object hold the values the grid varies.</summary>
public static class JsonReport
{
    public static string Write(Report report)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartArray();
            foreach (var g in report.Groups) WriteGroup(json, g, report);
            json.WriteEndArray();
        }
        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    static void WriteGroup(Utf8JsonWriter json, ReportGroup g, Report report)
    {
        json.WriteStartObject();
        json.WriteString("dataset", g.Dataset);
        json.WriteString("model", g.Model);
        if (g.Cell is { } cell) json.WriteString("cell", cell); else json.WriteNull("cell");
        if (g.Epochs is { } e) json.WriteNumber("epochs", e); else json.WriteNull("epochs");
        foreach (var o in report.Optimizers)
        {
            var a = g.Arm(o);
            json.WriteStartObject(o);
            json.WriteNumber("n", a?.N ?? 0);
            json.WriteNumber("failed", a?.Failed ?? 0);
            Number(json, "train_mean", a?.Train?.Mean);
            Number(json, "train_std", CsvReport.Sd(a?.Train));
            Number(json, "test_mean", a?.Test?.Mean);
            Number(json, "test_std", CsvReport.Sd(a?.Test));
            Number(json, "seconds_mean", a?.Seconds?.Mean);
            Number(json, "seconds_std", CsvReport.Sd(a?.Seconds));
            json.WriteEndObject();
        }
        json.WriteString("test", ReportOptions.Name(report.Options.Test));
        json.WriteString("alternative", ReportOptions.Name(report.Options.Alternative));
        var primary = g.ComparisonOf(report.PrimaryTreatment);
        if (report.PrimaryTreatment is { } treatment)
        {
            json.WriteString("treatment", treatment);
            json.WriteString("control", report.Options.Control);
        }
        Stats(json, primary);
        if (primary is not null) json.WriteString("verdict", report.VerdictOf(g, primary));
        json.WriteStartArray("comparisons");
        foreach (var c in g.Comparisons)
        {
            json.WriteStartObject();
            json.WriteString("treatment", c.Treatment);
            json.WriteString("control", c.Control);
            Recipe(json, g.Cell);
            Stats(json, c);
            json.WriteString("verdict", report.VerdictOf(g, c));
            PerRepeat(json, RepeatPair.Of(g, c));
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteNumber("failed", g.FailedTrials.Count);
        json.WriteStartArray("notes");
        foreach (var n in g.Notes) json.WriteStringValue(n);
        json.WriteEndArray();
        json.WriteEndObject();
    }

    /// <summary>"per_repeat": each repeat's test accuracy on both sides (null where missing, "treatment_missing" /
    /// "control_missing" saying failed or not run) and their difference.</summary>
    static void PerRepeat(Utf8JsonWriter json, IReadOnlyList<RepeatPair> pairs)
    {
        json.WriteStartArray("per_repeat");
        foreach (var p in pairs)
        {
            json.WriteStartObject();
            json.WriteNumber("repeat", p.Repeat);
            Number(json, "treatment", p.Treatment);
            Number(json, "control", p.Control);
            Number(json, "difference", p.Difference);
            if (p.TreatmentMissing is { } tm) json.WriteString("treatment_missing", tm);
            if (p.ControlMissing is { } cm) json.WriteString("control_missing", cm);
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }

    /// <summary>"recipe": the cell's values by key, numbers as numbers; {} when the grid varies nothing.</summary>
    static void Recipe(Utf8JsonWriter json, string? cell)
    {
        json.WriteStartObject("recipe");
        foreach (var (key, value) in RecipeAxes.Parse(cell))
        {
            if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number)) json.WriteNumber(key, number);
            else json.WriteString(key, value);
        }
        json.WriteEndObject();
    }

    static void Stats(Utf8JsonWriter json, Comparison? c)
    {
        var r = c?.Result;
        if (r is not null) json.WriteString("method", r.Method);
        Number(json, "t", r?.Test == TestKind.MannWhitney ? null : r?.Statistic);
        if (r?.Test == TestKind.MannWhitney) Number(json, "u", r.Statistic);
        Number(json, "df", r?.Df);
        Number(json, "p_value", r?.PValue);
        Number(json, "p_holm", c?.PHolm);
        Number(json, "hedges_g", r?.HedgesG);
        Number(json, "diff_mean", r?.MeanDifference);
        if (r?.CiLow is { } lo && r.CiHigh is { } hi)
        {
            json.WriteStartArray("diff_ci95");
            json.WriteNumberValue(lo);
            json.WriteNumberValue(hi);
            json.WriteEndArray();
            json.WriteString("ci_method", r.CiMethod);
        }
        else json.WriteNull("diff_ci95");
        if (r?.Pairs is { } pairs) json.WriteNumber("pairs", pairs);
        Number(json, "mde_pp", c?.Power?.MdePp);
        if (c?.Power?.NForPower80 is { } n) json.WriteNumber("n_for_power80", n); else json.WriteNull("n_for_power80");
        // More repeats than a grid may have (or than the search went to): the figure is out of reach, not a plan.
        if (c is not null && Verdict.RepeatsAboveCap(c, c.Result.Alternative) is { } aboveCap) json.WriteBoolean("n_for_power80_above_cap", aboveCap);
        if (c?.Power?.Note is { } note) json.WriteString("power_note", note); else json.WriteNull("power_note");
        if (c?.Sequential is { } sequential) SequentialObject(json, sequential);
        Number(json, "time_ratio", c?.TimeRatio);
        if (c?.TimeBasis is { } basis) json.WriteString("time_basis", basis); else json.WriteNull("time_basis");
        if (c?.TimeConditionsDiffer is { } differ) json.WriteBoolean("time_conditions_differ", differ); else json.WriteNull("time_conditions_differ");
    }

    /// <summary>"sequential": the look shown (the last one decided) and its figures; only in a sequential run's report.
    /// Before look 1 is complete its look-specific figures are null.</summary>
    static void SequentialObject(Utf8JsonWriter json, SequentialOutcome s)
    {
        var look = s.Last;
        json.WriteStartObject("sequential");
        if (look is null) json.WriteNull("look"); else json.WriteNumber("look", look.Look);
        json.WriteNumber("looks", s.Looks);
        if (look is null) json.WriteNull("n_per_arm"); else json.WriteNumber("n_per_arm", look.NPerArm);
        if (look is null) json.WriteNull("decision"); else json.WriteString("decision", Sequential.LookResult.NameOf(look.Decision));
        Number(json, "statistic", look?.Statistic);
        Number(json, "df", look?.Df);
        Number(json, "nominal_alpha", look?.NominalAlpha);
        Number(json, "p_value_stagewise", s.StagewisePValue);
        if (look?.RepeatedCi is { } ci && double.IsFinite(ci.Low) && double.IsFinite(ci.High))
        {
            json.WriteStartArray("repeated_ci");
            json.WriteNumberValue(ci.Low);
            json.WriteNumberValue(ci.High);
            json.WriteEndArray();
        }
        else json.WriteNull("repeated_ci");
        json.WriteEndObject();
    }

    /// <summary>Null for a missing or non-finite figure: JSON has no NaN.</summary>
    static void Number(Utf8JsonWriter json, string name, double? value)
    {
        if (value is { } v && double.IsFinite(v)) json.WriteNumber(name, v);
        else json.WriteNull(name);
    }
}
