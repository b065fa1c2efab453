using SamCluster.Experiment;
using SamCluster.Reporting.Sequential;
namespace SamCluster.Reporting;

/// <summary>One optimizer's completed trials in one (dataset, model): summaries are null when N is 0.</summary>
public sealed record ArmStats(
    string Optimizer,
    int N,
    int Failed,
    SampleSummary? Train,
    SampleSummary? Test,
    SampleSummary? Seconds,
    IReadOnlyDictionary<int, double> TestByRepeat)
{
    public static ArmStats From(string optimizer, IReadOnlyList<TrialResultRow> completed, int failed)
    {
        SampleSummary? Of(Func<TrialResultRow, double?> pick) =>
            completed.Count == 0 ? null : SampleSummary.Of(completed.Select(r => pick(r)!.Value).ToList());
        return new ArmStats(optimizer, completed.Count, failed, Of(r => r.TrainAcc), Of(r => r.TestAcc), Of(r => r.Seconds),
            completed.ToDictionary(r => r.Repeat, r => r.TestAcc!.Value));
    }
}

/// <summary>Treatment vs control on test accuracy; PHolm is filled in once all comparisons of the report are known.
/// Power: the minimum detectable difference now and the repeats needed for the observed one (<see cref="PowerAnalysis"/>).
/// Sequential: the looks of a sequential run (null for a fixed-repeats run).
/// TimeRatio: the treatment's price, its time per trial as a multiple of the control's (<see cref="TimeComparison"/>: on one
/// device kind, from images per second where the trials have them; mean seconds of all completed trials where they do not
/// say where they ran); null when either arm has no completed trial, the control's time is 0 or no device kind is shared.</summary>
public sealed record Comparison(string Treatment, string Control, TestResult Result, double? PHolm, PowerResult? Power = null,
    SequentialOutcome? Sequential = null, double? TimeRatio = null)
{
    /// <summary>What <see cref="TimeRatio"/> was taken from (<see cref="TimeComparison.Basis"/>).</summary>
    public string? TimeBasis { get; init; }

    /// <summary>Why there is no time ratio when the arms ran on different device kinds (<see cref="TimeComparison.Missing"/>).</summary>
    public string? NoTimeRatio { get; init; }

    /// <summary>True when the trials compared ran under different conditions (threads, trials at once); null when they do not say.</summary>
    public bool? TimeConditionsDiffer { get; init; }

    /// <summary>The p-value Holm adjusts: a sequential comparison's stage-wise p (its fixed-sample p ignores that the run
    /// looked before), else the test's.</summary>
    public double? HolmInput => Sequential is { } s ? s.StagewisePValue : Result.PValue;
}

/// <summary>A comparison of a sequential run as its finished trials leave it: the last look they decided (the one that
/// stopped, or the latest "continue"; null while look 1 is not complete) and that look's stage-wise ordering p-value.</summary>
/// <param name="Looks">The design's number of looks.</param>
/// <param name="RepeatsAtFirstLook">Repeats per arm look 1 needs, for the sentence of a comparison not decided yet.</param>
public sealed record SequentialOutcome(LookResult? Last, int Looks, int RepeatsAtFirstLook, double? StagewisePValue);

/// <summary>A sequential run's trials against the fixed design's: every repeat of every arm (a control arm shared by
/// several comparisons counted once) against the trials that ran (a retried trial once).</summary>
/// <param name="Open">Comparisons whose looks have not stopped yet (the run goes on, or look 1 is not complete).</param>
public sealed record SequentialSummary(SequentialPlan Plan, int TrialsRun, long TrialsPlanned, int Open)
{
    /// <summary>The share of the fixed design's trials not run, in percent.</summary>
    public double SavedPercent => TrialsPlanned == 0 ? 0 : 100.0 * (TrialsPlanned - TrialsRun) / TrialsPlanned;
}

/// <summary>One row of the report: a (dataset, model, recipe cell) with its arms (control first) and comparisons.</summary>
/// <param name="Cell">The recipe values this row compares at ("lr=0.01,rho=0.1", as in trial ids); null when the grid
/// varies nothing. The control's arm has the values it shares (SGD has no rho).</param>
public sealed record ReportGroup(
    string Dataset,
    string Model,
    int? Epochs,
    IReadOnlyList<ArmStats> Arms,
    IReadOnlyList<Comparison> Comparisons,
    IReadOnlyList<TrialResultRow> FailedTrials,
    IReadOnlyList<string> Notes,
    string? Cell = null)
{
    /// <summary>"fashion-mnist/resnet18" or "fashion-mnist/resnet18 [lr=0.01,rho=0.1]".</summary>
    public string Label => Cell is null ? $"{Dataset}/{Model}" : $"{Dataset}/{Model} [{Cell}]";

    public ArmStats? Arm(string optimizer) => Arms.FirstOrDefault(a => a.Optimizer == optimizer);

    public Comparison? ComparisonOf(string? treatment) => Comparisons.FirstOrDefault(c => c.Treatment == treatment);
}

/// <summary>A PNG written beside the report, for report.md to link.</summary>
/// <param name="Path">Relative to the run folder, with forward slashes ("curves/test_accuracy.png").</param>
/// <param name="Group">The <see cref="ReportGroup.Label"/> it belongs to; null for a picture of the whole report.</param>
/// <param name="Treatment">The comparison's treatment, for a comparison's picture; null for a group's learning curves.</param>
public sealed record ReportPicture(string Path, string Caption, string? Group = null, string? Treatment = null);

/// <param name="Sequential">The trials of a sequential run against its fixed design; null for a fixed-repeats run.</param>
/// <param name="Pictures">The PNGs written with the report (none when curves are off or drawing failed).</param>
public sealed record Report(ReportOptions Options, IReadOnlyList<string> Optimizers, IReadOnlyList<ReportGroup> Groups,
    IReadOnlyList<string> Notes, SequentialSummary? Sequential = null, IReadOnlyList<ReportPicture>? Pictures = null)
{
    /// <summary>Each comparison's opening sentence (<see cref="Verdict"/>).</summary>
    public string VerdictOf(ReportGroup g, Comparison c) => Verdict.Sentence(g, c, Options, ComparisonCount > 1);

    /// <summary>The picture of a group (treatment null: its learning curves) or of one comparison; null when not drawn.</summary>
    public ReportPicture? PictureOf(ReportGroup g, string? treatment = null) =>
        Pictures?.FirstOrDefault(p => p.Group == g.Label && p.Treatment == treatment);

    /// <summary>The optimizer whose comparison the flat top-level fields (t, df, p_value, ...) describe: "sam" if
    /// present, else the first non-control optimizer.</summary>
    public string? PrimaryTreatment =>
        Options.Control != Sam && Optimizers.Contains(Sam) ? Sam : Optimizers.FirstOrDefault(o => o != Options.Control);

    static string Sam => Experiment.Vocabulary.Sam.Name;

    /// <summary>The comparisons Holm adjusts over: those with a p-value (for a sequential run, a stage-wise one).</summary>
    public int ComparisonCount => Groups.Sum(g => g.Comparisons.Count(c => c.HolmInput is not null));

    /// <summary>Describes the test the way the report header states it.</summary>
    public string Describe()
    {
        var test = Options.Test switch
        {
            TestKind.Welch => "Welch's t-test (unequal variances, Welch–Satterthwaite df)",
            TestKind.Student => "Student's t-test (pooled variance)",
            TestKind.Paired => "paired t-test (pairs matched by repeat number; only repeats present in both arms)",
            _ => "Mann–Whitney U test (exact when no ties and an arm has ≤ 8 values, else normal approximation with tie and continuity correction; see each row)",
        };
        var treatments = string.Join("/", Optimizers.Where(o => o != Options.Control).Select(MarkdownReport.Up));
        if (treatments.Length == 0) treatments = "optimizer";
        var control = MarkdownReport.Up(Options.Control);
        var side = Options.Alternative switch
        {
            Alternative.Greater => $"one-sided ({treatments} > {control})",
            Alternative.Less => $"one-sided ({treatments} < {control})",
            _ => $"two-sided ({treatments} ≠ {control})",
        };
        return $"{test}, {side}, on final test accuracy";
    }
}
