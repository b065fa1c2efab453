using MathNet.Numerics.Statistics;

namespace SamCluster.Reporting;

/// <summary>Mean and sample std over repeats at one epoch (Sd is null with a single repeat); losses and learning rate
/// as means, null where the epochs table has no such column.</summary>
public sealed record CurvePoint(int Epoch, int N, double TrainMean, double? TrainSd, double TestMean, double? TestSd,
    double? TrainLoss = null, double? TestLoss = null, double? LearningRate = null);

/// <summary>One optimizer's learning curve in one (dataset, model, recipe cell), averaged over its completed repeats.</summary>
public sealed record LearningCurve(string Dataset, string Model, string Optimizer, int Repeats, IReadOnlyList<CurvePoint> Points,
    string? Cell = null)
{
    /// <summary>Epoch rows of failed trials are left out (as in the table); where a trial was retried, the last row of
    /// an epoch counts.</summary>
    public static IReadOnlyList<LearningCurve> From(IReadOnlyList<EpochResultRow> epochs, IReadOnlyList<TrialResultRow> trials)
    {
        var outcome = new Dictionary<(string, string, string, string?, int), bool>();
        foreach (var t in trials) outcome[(t.Dataset, t.Model, t.Optimizer, t.Cell, t.Repeat)] = t.Completed;
        var kept = new Dictionary<(string D, string M, string O, string? C, int R, int E), EpochResultRow>();
        foreach (var e in epochs)
            if (outcome.GetValueOrDefault((e.Dataset, e.Model, e.Optimizer, e.Cell, e.Repeat), true))
                kept[(e.Dataset, e.Model, e.Optimizer, e.Cell, e.Repeat, e.Epoch)] = e;

        return kept.Values.GroupBy(e => (e.Dataset, e.Model, e.Optimizer, e.Cell)).Select(arm => new LearningCurve(
            arm.Key.Dataset, arm.Key.Model, arm.Key.Optimizer, arm.Select(e => e.Repeat).Distinct().Count(),
            arm.GroupBy(e => e.Epoch).OrderBy(g => g.Key).Select(g =>
            {
                var train = g.Select(e => e.TrainAcc).ToList();
                var test = g.Select(e => e.TestAcc).ToList();
                static double? MeanOf(IEnumerable<double?> values) => values.All(v => v is not null) ? values.Select(v => v!.Value).Mean() : null;
                return new CurvePoint(g.Key, train.Count, train.Mean(), train.Count > 1 ? train.StandardDeviation() : null,
                    test.Mean(), test.Count > 1 ? test.StandardDeviation() : null,
                    MeanOf(g.Select(e => e.TrainLoss)), MeanOf(g.Select(e => e.TestLoss)), MeanOf(g.Select(e => e.LearningRate)));
            }).ToList(), arm.Key.Cell)).ToList();
    }
}
