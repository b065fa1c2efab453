using SamCluster.Reporting;
using Xunit;

namespace SamCluster.Tests.Reporting;

/// <summary>Issue 27 point 3, the pure parts: each epoch's mean, std and n over the repeats that reached it, which epochs
/// not every repeat has reached ("partial"), the n a legend states, and where a PNG legend goes.</summary>
public sealed class HonestCurvesTests
{
    static EpochResultRow Epoch(int repeat, int epoch, double test, string optimizer = "sgd") =>
        new("fashion-mnist", "resnet18", optimizer, repeat, epoch, 50 + epoch, test, 1.0, 1.0, 0, LearningRate: 0.01);

    [Fact]
    public void An_epoch_that_a_running_repeat_has_not_reached_is_partial_with_its_own_n_mean_and_std()
    {
        // Repeats 1 and 2 are done (3 epochs); repeat 3 runs and has epoch 1 only; repeat 4 failed (left out).
        var epochs = new List<EpochResultRow>
        {
            Epoch(1, 1, 20), Epoch(1, 2, 24), Epoch(1, 3, 30),
            Epoch(2, 1, 22), Epoch(2, 2, 28), Epoch(2, 3, 32),
            Epoch(3, 1, 30),
            Epoch(4, 1, 99), Epoch(4, 2, 99),
        };
        var trials = new List<TrialResultRow>
        {
            new("fashion-mnist", "resnet18", "sgd", 1, true, 53, 30, 10, 3, null, 0),
            new("fashion-mnist", "resnet18", "sgd", 2, true, 53, 32, 10, 3, null, 0),
            new("fashion-mnist", "resnet18", "sgd", 4, false, null, null, null, 3, "out of memory", 0),
        };
        var curve = Assert.Single(LearningCurve.From(epochs, trials));
        Assert.Equal(3, curve.Repeats);
        Assert.Equal([3, 2, 2], curve.Points.Select(p => p.N));
        Assert.Equal([false, true, true], curve.Points.Select(p => p.Partial));
        Assert.Equal(24, curve.Points[0].TestMean, 12);
        Assert.Equal(Math.Sqrt(28.0), curve.Points[0].TestSd!.Value, 12);   // 20, 22, 30: deviations −4, −2, 6
        Assert.Equal(26, curve.Points[1].TestMean, 12);
        Assert.Equal(Math.Sqrt(8.0), curve.Points[1].TestSd!.Value, 12);
        Assert.Equal("n = 3 to 2", curve.NText);
    }

    [Fact]
    public void A_curve_every_repeat_has_reached_is_not_partial_and_states_one_n()
    {
        var epochs = new[] { Epoch(1, 1, 20), Epoch(1, 2, 24), Epoch(2, 1, 22), Epoch(2, 2, 26) };
        var curve = Assert.Single(LearningCurve.From(epochs, []));
        Assert.All(curve.Points, p => Assert.False(p.Partial));
        Assert.Equal("n = 2", curve.NText);
        var lone = Assert.Single(LearningCurve.From([Epoch(1, 1, 20)], []));
        Assert.Equal((1, null, false), (lone.Points[0].N, lone.Points[0].TestSd, lone.Points[0].Partial));
        Assert.Equal("n = 1", lone.NText);
    }

    [Fact]
    public void The_legend_takes_the_first_empty_corner()
    {
        // Accuracy curves rise to the upper right (where the issue saw the legend sit on the last epoch's points).
        IReadOnlyList<(double, double)> rising = [(0, 0.2), (0.5, 0.7), (1, 0.95)];
        Assert.Equal(LegendSpot.UpperLeft, LegendPlacement.Choose([rising], 0.3, 0.2));
        // Nothing drawn: the usual corner.
        Assert.Equal(LegendSpot.UpperRight, LegendPlacement.Choose([], 0.3, 0.2));
        // Falling losses: high at the left, low at the right; the upper right is free.
        IReadOnlyList<(double, double)> falling = [(0, 0.95), (0.5, 0.3), (1, 0.05)];
        Assert.Equal(LegendSpot.UpperRight, LegendPlacement.Choose([falling], 0.3, 0.2));
    }

    [Fact]
    public void A_segment_crossing_a_corner_counts_even_with_no_point_in_it()
    {
        // Two points far apart whose segment passes through the upper-right box.
        IReadOnlyList<(double, double)> diagonal = [(0.5, 1.0), (1.0, 0.5)];
        Assert.NotEqual(LegendSpot.UpperRight, LegendPlacement.Choose([diagonal], 0.3, 0.3));
    }

    [Fact]
    public void When_every_corner_holds_data_or_the_legend_is_too_big_it_goes_outside()
    {
        IReadOnlyList<(double, double)> top = [(0, 0.95), (1, 0.95)];
        IReadOnlyList<(double, double)> bottom = [(0, 0.05), (1, 0.05)];
        Assert.Equal(LegendSpot.LowerRight, LegendPlacement.Choose([top], 0.3, 0.2));
        Assert.Equal(LegendSpot.Outside, LegendPlacement.Choose([top, bottom], 0.3, 0.2));
        Assert.Equal(LegendSpot.Outside, LegendPlacement.Choose([], 1.2, 0.2));
    }
}
