using System.Globalization;
using System.Text;
using SamCluster.Reporting.Sequential;

namespace SamCluster.Reporting;

/// <summary>A comparison's outcome in a few words, for the runs index (`samcluster runs`, `serve`'s page) and the
/// side-by-side report of two runs: "+1.04 pp [0.20, 1.90], p (Holm) = 0.028: SAM better". Significant at
/// <see cref="PowerAnalysis.Alpha"/> on the Holm-adjusted p the report states (a sequential comparison: its last look's
/// decision).</summary>
public static class ComparisonVerdict
{
    /// <summary>"fashion-mnist/resnet18 SAM vs SGD" (the group's label and the two arms).</summary>
    public static string Label(ReportGroup group, Comparison comparison) =>
        $"{group.Label} {MarkdownReport.Up(comparison.Treatment)} vs {MarkdownReport.Up(comparison.Control)}";

    public static string Of(Comparison comparison, Alternative alternative)
    {
        var r = comparison.Result;
        var treatment = MarkdownReport.Up(comparison.Treatment);
        if (r.MeanDifference is not { } diff) return "not tested: an arm has no completed trial";
        var ci = r.CiLow is { } lo && r.CiHigh is { } hi ? $" [{F(lo)}, {F(hi)}]" : "";
        var figures = $"{(diff >= 0 ? "+" : "")}{F(diff)} pp{ci}";
        if (comparison.Sequential is { } sequential)
            return sequential.Last is { } look
                ? $"{figures}, look {look.Look} of {look.Looks}: {SequentialWords(look.Decision, treatment)}"
                : $"{figures}: look 1 not reached yet";
        var p = comparison.PHolm ?? r.PValue;
        if (p is not { } pValue) return $"{figures}: no p-value (too few repeats)";
        var stated = $"{figures}, p{(comparison.PHolm is null ? "" : " (Holm)")} = {MarkdownReport.P(pValue)}";
        var control = MarkdownReport.Up(comparison.Control);
        if (pValue >= PowerAnalysis.Alpha)
            return alternative switch
            {
                Alternative.Greater => $"{stated}: no evidence that {treatment} beats {control}",
                Alternative.Less => $"{stated}: no evidence that {treatment} is worse than {control}",
                _ => $"{stated}: no evidence of a difference",
            };
        return alternative switch
        {
            Alternative.Greater => $"{stated}: {treatment} better",
            Alternative.Less => $"{stated}: {treatment} worse",
            _ => $"{stated}: {treatment} {(diff > 0 ? "better" : "worse")}",
        };
    }

    static string SequentialWords(LookDecision decision, string treatment) => decision switch
    {
        LookDecision.Efficacy => $"stopped, {treatment} better",
        LookDecision.Continue => "continue",
        _ => $"stopped ({LookResult.NameOf(decision)})",
    };

    static string F(double value) => value.ToString("0.00", CultureInfo.InvariantCulture);
}

/// <summary>
/// `samcluster report A B --compare`: two runs' comparisons side by side in Markdown, one row per comparison either run
/// has (dataset/model [cell], treatment vs control), each run's arms' test accuracy and its verdict
/// (<see cref="ComparisonVerdict"/>); a comparison only one run has shows a dash for the other.
/// </summary>
public static class TwoRunComparison
{
    public static string Markdown(string nameA, Report a, string nameB, Report b)
    {
        var md = new StringBuilder();
        md.AppendLine($"# Comparisons of two runs: A = {nameA}, B = {nameB}");
        md.AppendLine();
        md.AppendLine($"- A: {a.Describe()}.");
        md.AppendLine($"- B: {b.Describe()}.");
        md.AppendLine();
        md.AppendLine("| Comparison | A: n | A: test acc (%) | A: verdict | B: n | B: test acc (%) | B: verdict |");
        md.AppendLine("| --- | --- | --- | --- | --- | --- | --- |");
        var rowsA = Rows(a);
        var rowsB = Rows(b);
        foreach (var label in rowsA.Keys.Concat(rowsB.Keys).Distinct())
        {
            var (cellsA, cellsB) = (rowsA.GetValueOrDefault(label, Missing), rowsB.GetValueOrDefault(label, Missing));
            md.AppendLine($"| {Cell(label)} | {string.Join(" | ", cellsA.Select(Cell))} | {string.Join(" | ", cellsB.Select(Cell))} |");
        }
        if (rowsA.Count + rowsB.Count == 0) md.AppendLine("| (no comparison: neither run has two optimizers) | | | | | | |");
        md.AppendLine();
        md.AppendLine("n: completed trials treatment vs control; test acc: mean of each arm (treatment vs control); the verdict " +
                      $"is each run's own report's, at α = {PowerAnalysis.Alpha.ToString("0.00", CultureInfo.InvariantCulture)}.");
        return md.ToString();
    }

    static readonly string[] Missing = ["–", "–", "not in this run"];

    /// <summary>Each comparison of a report, by its label, as three cells: n, test accuracy, verdict.</summary>
    static Dictionary<string, string[]> Rows(Report report)
    {
        var rows = new Dictionary<string, string[]>();
        foreach (var group in report.Groups)
        foreach (var c in group.Comparisons)
        {
            var (t, k) = (group.Arm(c.Treatment), group.Arm(c.Control));
            rows[ComparisonVerdict.Label(group, c)] =
            [
                $"{t?.N ?? 0} vs {k?.N ?? 0}",
                $"{Mean(t)} vs {Mean(k)}",
                ComparisonVerdict.Of(c, report.Options.Alternative),
            ];
        }
        return rows;
    }

    static string Mean(ArmStats? arm) => arm?.Test is { } s ? s.Mean.ToString("0.00", CultureInfo.InvariantCulture) : "–";

    /// <summary>A Markdown table cell: a pipe or a line break in a name would end the cell.</summary>
    static string Cell(string text) => text.Replace("|", "\\|").ReplaceLineEndings(" ");
}
