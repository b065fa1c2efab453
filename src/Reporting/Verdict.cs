using System.Globalization;
using SamCluster.Experiment;
using SamCluster.Experiment.Grid;
using SamCluster.Reporting.Sequential;

namespace SamCluster.Reporting;

/// <summary>One repeat of a comparison, paired by repeat number (SGD and SAM of a repeat share seed, initial weights and
/// data order): each side's final test accuracy, or why it has none.</summary>
/// <param name="TreatmentMissing">Null when the treatment has a value; else "failed" or "not run".</param>
public sealed record RepeatPair(int Repeat, double? Treatment, double? Control, string? TreatmentMissing, string? ControlMissing)
{
    public const string Failed = "failed", NotRun = "not run";

    /// <summary>Treatment − control in pp; null where a side is missing.</summary>
    public double? Difference => Treatment is { } t && Control is { } c ? t - c : null;

    /// <summary>Every repeat either arm of the comparison has (completed or failed), in repeat order.</summary>
    public static IReadOnlyList<RepeatPair> Of(ReportGroup g, Comparison c)
    {
        var treatment = g.Arm(c.Treatment);
        var control = g.Arm(c.Control);
        var failed = g.FailedTrials.Select(f => (f.Optimizer, f.Repeat)).ToHashSet();
        var repeats = (treatment?.TestByRepeat.Keys ?? []).Concat(control?.TestByRepeat.Keys ?? [])
            .Concat(failed.Where(f => f.Optimizer == c.Treatment || f.Optimizer == c.Control).Select(f => f.Repeat))
            .Distinct().Order().ToList();
        static double? ValueOf(ArmStats? arm, int repeat) => arm is not null && arm.TestByRepeat.TryGetValue(repeat, out var v) ? v : null;
        string? Missing(ArmStats? arm, string optimizer, int repeat) =>
            ValueOf(arm, repeat) is not null ? null : failed.Contains((optimizer, repeat)) ? Failed : NotRun;
        return repeats.Select(r => new RepeatPair(r, ValueOf(treatment, r), ValueOf(control, r),
            Missing(treatment, c.Treatment, r), Missing(control, c.Control, r))).ToList();
    }
}

/// <summary>What a comparison with a test shows (<see cref="Verdict.Find"/>).</summary>
public enum Finding { NoTest, Better, Worse, NoEvidence }

/// <summary>The opening sentence of report.md for one comparison (issue 27): whether the treatment beats the control,
/// by how much with its 95 % CI, p and n; or that there is no evidence, with the repeats per arm that detecting the
/// observed difference would take (above the grid's `repeats` cap, <see cref="GridConfig.MaxRepeats"/>, it says so).
/// A fixed-repeats run decides on p (Holm-adjusted where the report holds several comparisons) at α = 0.05; a
/// sequential run states the decision its looks took, in the words of <see cref="LookResult.Describe"/>.</summary>
public static class Verdict
{
    /// <summary>"Stanford Dogs / ResNet-18", with "[rho=0.1]" when the grid varies a recipe value.</summary>
    public static string Label(ReportGroup g) =>
        $"{Experiment.Vocabulary.FindDataset(g.Dataset)?.Title ?? g.Dataset} / {Experiment.Vocabulary.FindModel(g.Model)?.Title ?? g.Model}"
        + (g.Cell is null ? "" : $" [{g.Cell}]");

    /// <param name="severalComparisons">The report holds more than one comparison with a p-value: Holm's p decides.</param>
    public static string Sentence(ReportGroup g, Comparison c, ReportOptions options, bool severalComparisons,
        int repeatsCap = GridConfig.MaxRepeats)
    {
        var (t, b) = (MarkdownReport.Up(c.Treatment), MarkdownReport.Up(c.Control));
        var head = Label(g) + ": ";
        if (c.Sequential is { } s && options.Sequential is { } plan) return head + LookVerdict(c, s, plan, t, b);
        var r = c.Result;
        if (r.PValue is not { } p)
        {
            var why = r.Notes.FirstOrDefault()?.Replace("no test: ", "") ?? "no test";
            return head + $"no test of {t} against {b} ({why}).";
        }
        var difference = r.MeanDifference ?? 0;
        var (finding, _) = Find(c, options.Alternative, severalComparisons);
        var holm = severalComparisons && c.PHolm is { } h ? $"; Holm-adjusted {MarkdownReport.P(h)}" : "";
        var figures = $"{Pp(difference)} pp{Ci(r)}, p = {MarkdownReport.P(p)} ({TestName(options.Test)}, {Side(options.Alternative)}{holm}), {Counts(g, c, r)}";
        if (finding != Finding.NoEvidence)
            return head + $"{t} {(finding == Finding.Worse ? "falls below" : "beats")} {b} by {figures}.";
        var claim = options.Alternative switch
        {
            Alternative.Less => $"{t} falls below {b}",
            Alternative.TwoSided => $"{t} differs from {b}",
            _ => $"{t} beats {b}",
        };
        return head + $"no evidence that {claim} ({figures}); {PowerClause(c, options, repeatsCap)}.";
    }

    /// <summary>What a fixed-repeats comparison shows, by the one rule every verdict follows (report.md's sentence, the
    /// runs index, two runs side by side): significant when its p — Holm-adjusted where the report holds several
    /// comparisons — is at most α = 0.05; which way by the alternative tested (two-sided: by the difference's sign).</summary>
    public static (Finding Finding, double? DecisiveP) Find(Comparison c, Alternative alternative, bool severalComparisons)
    {
        if (c.Result.PValue is not { } p) return (Finding.NoTest, null);
        var decisive = severalComparisons ? c.PHolm ?? p : p;
        if (decisive > PowerAnalysis.Alpha) return (Finding.NoEvidence, decisive);
        var worse = alternative == Alternative.Less || (alternative == Alternative.TwoSided && (c.Result.MeanDifference ?? 0) < 0);
        return (worse ? Finding.Worse : Finding.Better, decisive);
    }

    /// <summary>Whether detecting the observed difference with 80 % power takes more repeats per arm than a grid may
    /// have (including past the power search's own limit); null where there is no such figure (no spread, no
    /// difference, or a difference against the direction tested).</summary>
    public static bool? RepeatsAboveCap(Comparison c, Alternative alternative, int repeatsCap = GridConfig.MaxRepeats)
    {
        if (c.Power is not { MdePp: not null } power || c.Result.MeanDifference is not { } d || d == 0) return null;
        if (power.NForPower80 is { } n) return n > repeatsCap;
        var against = alternative == Alternative.Greater ? d < 0 : alternative == Alternative.Less && d > 0;
        return against ? null : true;
    }

    /// <summary>What detecting the observed difference would take: "~38 repeats per arm", or why there is no such number.</summary>
    internal static string PowerClause(Comparison c, ReportOptions options, int repeatsCap)
    {
        var unit = options.Test == TestKind.Paired ? "pairs" : "repeats per arm";
        var power = c.Power;
        var d = c.Result.MeanDifference;
        if (power?.NForPower80 is { } n)
            return n > repeatsCap
                ? $"detecting this difference would take more than the {I(repeatsCap)} {unit} a grid allows"
                : $"detecting this difference would take ~{I(n)} {unit} (80 % power)";
        if (d == 0) return "the observed difference is 0, there is nothing to detect";
        if (d is { } x && (options.Alternative == Alternative.Greater ? x < 0 : options.Alternative == Alternative.Less && x > 0))
            return "the observed difference points the other way, so no number of repeats would show it";
        if (RepeatsAboveCap(c, options.Alternative, repeatsCap) == true)   // the search ran past PowerAnalysis.MaxRepeats
            return $"detecting this difference would take more than the {I(repeatsCap)} {unit} a grid allows";
        var why = power?.Notes.LastOrDefault()?.Replace("no power figures: ", "");
        return why is null ? "no power figure" : $"no power figure ({why})";
    }

    static string LookVerdict(Comparison c, SequentialOutcome s, SequentialPlan plan, string t, string b)
    {
        if (s.Last is not { } look)
            return $"no verdict yet on {t} against {b}: look 1 of {s.Looks} not complete ({s.RepeatsAtFirstLook} repeats per arm).";
        var difference = look.Difference is { } d ? $"{Pp(d)} pp" : "no difference";
        var ci = look.RepeatedCi is { } rc ? $" [repeated CI {F(rc.Low)}, {F(rc.High)}]" : "";
        var p = s.StagewisePValue is { } sp ? $", stage-wise p = {MarkdownReport.P(sp)}" : "";
        var where = $"{look.Describe(t, plan.MarginPp)} ({look.NPerArm} of {plan.LastLook} repeats per arm)";
        return look.Decision switch
        {
            LookDecision.Efficacy => $"{t} beats {b} by {difference}{ci}{p}; {where}.",
            LookDecision.Continue => $"no verdict yet on {t} against {b} ({difference}{ci}{p}); {where}.",
            _ => $"no evidence that {t} beats {b} ({difference}{ci}{p}); {where}.",
        };
    }

    static string Counts(ReportGroup g, Comparison c, TestResult r) =>
        $"{g.Arm(c.Treatment)?.N ?? 0} vs {g.Arm(c.Control)?.N ?? 0} repeats" + (r.Pairs is { } pairs ? $" ({pairs} pairs)" : "");

    static string Ci(TestResult r) =>
        r.CiLow is { } lo && r.CiHigh is { } hi && double.IsFinite(lo) && double.IsFinite(hi) ? $" [95 % CI {F(lo)}, {F(hi)}]" : "";

    static string TestName(TestKind test) => test switch
    {
        TestKind.Welch => "Welch",
        TestKind.Student => "Student",
        TestKind.Paired => "paired t",
        _ => "Mann–Whitney",
    };

    static string Side(Alternative alternative) => alternative == Alternative.TwoSided ? "two-sided" : "one-sided";

    internal static string Pp(double x) => x.ToString("+0.00;-0.00;0.00", CultureInfo.InvariantCulture);
    static string F(double x) => x.ToString("0.00", CultureInfo.InvariantCulture);
    static string I(int x) => x.ToString(CultureInfo.InvariantCulture);

    /// <summary>Said under the verdicts: the study's schedule reads the test set, so the test figures are not untouched.</summary>
    public const string ScheduleNote =
        "The learning-rate schedule (ReduceLROnPlateau) watches the test loss, as the study did: the test set also steers " +
        "training, so test accuracies are mildly optimistic. Both arms are steered alike, so the comparison itself is not tilted by it.";
}
