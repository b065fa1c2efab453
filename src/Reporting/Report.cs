using SamCluster.Experiment;
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
/// Power: the minimum detectable difference now and the repeats needed for the observed one (<see cref="PowerAnalysis"/>).</summary>
public sealed record Comparison(string Treatment, string Control, TestResult Result, double? PHolm, PowerResult? Power = null);

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

public sealed record Report(ReportOptions Options, IReadOnlyList<string> Optimizers, IReadOnlyList<ReportGroup> Groups,
    IReadOnlyList<string> Notes)
{
    /// <summary>The optimizer whose comparison the flat top-level fields (t, df, p_value, ...) describe: "sam" if
    /// present, else the first non-control optimizer.</summary>
    public string? PrimaryTreatment =>
        Options.Control != Sam && Optimizers.Contains(Sam) ? Sam : Optimizers.FirstOrDefault(o => o != Options.Control);

    static string Sam => Experiment.Vocabulary.Sam.Name;

    public int ComparisonCount => Groups.Sum(g => g.Comparisons.Count(c => c.Result.PValue is not null));

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
        var treatments = string.Join("/", Optimizers.Where(o => o != Options.Control).Select(o => o.ToUpperInvariant()));
        if (treatments.Length == 0) treatments = "optimizer";
        var control = Options.Control.ToUpperInvariant();
        var side = Options.Alternative switch
        {
            Alternative.Greater => $"one-sided ({treatments} > {control})",
            Alternative.Less => $"one-sided ({treatments} < {control})",
            _ => $"two-sided ({treatments} ≠ {control})",
        };
        return $"{test}, {side}, on final test accuracy";
    }
}
