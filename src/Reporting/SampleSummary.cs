using MathNet.Numerics.Statistics;

namespace SamCluster.Reporting;

/// <summary>n, mean and sample standard deviation (n−1) of one arm: all a Welch or Student test needs, so a test can also
/// be run from published summary statistics (e.g. the study's Figure 8).</summary>
public sealed record SampleSummary(int N, double Mean, double Sd)
{
    public double Variance => Sd * Sd;

    /// <summary>Sd is 0 for a single value (no spread can be seen); callers check N before testing.</summary>
    public static SampleSummary Of(IReadOnlyCollection<double> values)
    {
        if (values.Count == 0) throw new ArgumentException("a summary needs at least one value", nameof(values));
        var mean = values.Mean();
        return new SampleSummary(values.Count, mean, values.Count > 1 ? values.StandardDeviation() : 0.0);
    }
}
