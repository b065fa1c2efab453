using System.Globalization;
using System.Text;

namespace SamCluster.Reporting;

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
                ComparisonVerdict.Of(c, report.Options.Alternative, report.ComparisonCount > 1),
            ];
        }
        return rows;
    }

    static string Mean(ArmStats? arm) => arm?.Test is { } s ? s.Mean.ToString("0.00", CultureInfo.InvariantCulture) : "–";

    /// <summary>A Markdown table cell: a pipe or a line break in a name would end the cell.</summary>
    static string Cell(string text) => text.Replace("|", "\\|").ReplaceLineEndings(" ");
}
