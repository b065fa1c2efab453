using MathNet.Numerics.Statistics;

namespace SamCluster.Reporting;

/// <summary>Mean and sample std over repeats at one epoch (Sd is null with a single repeat); losses and learning rate
/// as means, null where the epochs table has no such column.</summary>
public sealed record CurvePoint(int Epoch, int N, double TrainMean, double? TrainSd, double TestMean, double? TestSd,
    double? TrainLoss = null, double? TestLoss = null, double? LearningRate = null)
{
    /// <summary>Not every repeat of the curve has reached this epoch yet (N below the curve's repeats): its mean is over
    /// fewer repeats than the points before it, so a chart draws it apart (issue 27: a mean that fell only because n did).</summary>
    public bool Partial { get; init; }
}

/// <summary>One optimizer's learning curve in one (dataset, model, recipe cell), averaged over its completed repeats.</summary>
public sealed record LearningCurve(string Dataset, string Model, string Optimizer, int Repeats, IReadOnlyList<CurvePoint> Points,
    string? Cell = null)
{
    /// <summary>The n a legend states: "n = 5" where every point has it; "n = 5 to 2" where it falls, the points with
    /// fewer repeats being marked on the chart.</summary>
    public string NText => Points.Select(p => p.N).Distinct().Count() <= 1
        ? $"n = {(Points.Count > 0 ? Points[0].N : Repeats)}"
        : $"n = {Points.Max(p => p.N)} to {Points.Min(p => p.N)}";

    /// <summary>Epoch rows of failed trials are left out (as in the table); where a trial was retried, the last row of
    /// an epoch counts. A curve's repeats are those with at least one epoch (a running trial's too); an epoch that fewer
    /// of them reached is <see cref="CurvePoint.Partial"/>.</summary>
    public static IReadOnlyList<LearningCurve> From(IReadOnlyList<EpochResultRow> epochs, IReadOnlyList<TrialResultRow> trials)
    {
        var outcome = new Dictionary<(string, string, string, string?, int), bool>();
        foreach (var t in trials) outcome[(t.Dataset, t.Model, t.Optimizer, t.Cell, t.Repeat)] = t.Completed;
        var kept = new Dictionary<(string D, string M, string O, string? C, int R, int E), EpochResultRow>();
        foreach (var e in epochs)
            if (outcome.GetValueOrDefault((e.Dataset, e.Model, e.Optimizer, e.Cell, e.Repeat), true))
                kept[(e.Dataset, e.Model, e.Optimizer, e.Cell, e.Repeat, e.Epoch)] = e;

        return kept.Values.GroupBy(e => (e.Dataset, e.Model, e.Optimizer, e.Cell)).Select(arm =>
        {
            var repeats = arm.Select(e => e.Repeat).Distinct().Count();
            return new LearningCurve(arm.Key.Dataset, arm.Key.Model, arm.Key.Optimizer, repeats,
                arm.GroupBy(e => e.Epoch).OrderBy(g => g.Key).Select(g =>
                {
                    var train = g.Select(e => e.TrainAcc).ToList();
                    var test = g.Select(e => e.TestAcc).ToList();
                    static double? MeanOf(IEnumerable<double?> values) => values.All(v => v is not null) ? values.Select(v => v!.Value).Mean() : null;
                    return new CurvePoint(g.Key, train.Count, train.Mean(), train.Count > 1 ? train.StandardDeviation() : null,
                        test.Mean(), test.Count > 1 ? test.StandardDeviation() : null,
                        MeanOf(g.Select(e => e.TrainLoss)), MeanOf(g.Select(e => e.TestLoss)), MeanOf(g.Select(e => e.LearningRate)))
                        { Partial = train.Count < repeats };
                }).ToList(), arm.Key.Cell);
        }).ToList();
    }
}
