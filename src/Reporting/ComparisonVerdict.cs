using System.Globalization;
using SamCluster.Reporting.Sequential;

namespace SamCluster.Reporting;

/// <summary>A comparison's outcome in a few words, for the runs index (`samcluster runs`, `serve`'s page) and the
/// side-by-side report of two runs: "+1.04 pp [0.20, 1.90], p (Holm) = 0.028: SAM better". What it finds is
/// <see cref="Verdict.Find"/>'s, the rule of report.md's own verdict (a sequential comparison: its last look's decision).</summary>
public static class ComparisonVerdict
{
    /// <summary>"fashion-mnist/resnet18 SAM vs SGD" (the group's label and the two arms).</summary>
    public static string Label(ReportGroup group, Comparison comparison) =>
        $"{group.Label} {MarkdownReport.Up(comparison.Treatment)} vs {MarkdownReport.Up(comparison.Control)}";

    /// <param name="severalComparisons">The report holds more than one comparison: Holm's p decides, as in report.md.</param>
    public static string Of(Comparison comparison, Alternative alternative, bool severalComparisons)
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
        var (finding, p) = Verdict.Find(comparison, alternative, severalComparisons);
        if (p is not { } pValue) return $"{figures}: no p-value (too few repeats)";
        var stated = $"{figures}, p{(severalComparisons ? " (Holm)" : "")} = {MarkdownReport.P(pValue)}";
        var control = MarkdownReport.Up(comparison.Control);
        return finding switch
        {
            Finding.Better => $"{stated}: {treatment} better",
            Finding.Worse => $"{stated}: {treatment} worse",
            _ => alternative switch
            {
                Alternative.Greater => $"{stated}: no evidence that {treatment} beats {control}",
                Alternative.Less => $"{stated}: no evidence that {treatment} is worse than {control}",
                _ => $"{stated}: no evidence of a difference",
            },
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
