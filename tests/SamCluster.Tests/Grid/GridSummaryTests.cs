using SamCluster.Experiment.Grid;
using Xunit;

namespace SamCluster.Tests.Grid;

public class GridSummaryTests
{
    [Theory]
    [InlineData(0.5, "0.5 GMAC")]
    [InlineData(337.5, "338 GMAC")]
    [InlineData(1_150, "1.15 TMAC")]
    [InlineData(13_430_000, "13.4 PMAC")]
    [InlineData(2.5e12, "2500 EMAC")]
    public void Compute_is_shown_with_three_figures_and_a_prefix(double gmac, string expected) =>
        Assert.Equal(expected, GridSummary.Gmac(gmac));

    [Fact]
    public void Summary_names_counts_total_longest_trial_and_fingerprint()
    {
        var grid = GridConfigLoader.Parse(GridTestFiles.Minimal, "grid.yaml");

        Assert.Equal($"1 trial (1 dataset × 1 model × 1 optimizer × 1 repeat), estimated compute 50.6 TMAC, "
            + $"longest trial fashion-mnist/resnet18/sgd/1 (50.6 TMAC), fingerprint {grid.Fingerprint[..12]}", GridSummary.Describe(grid));
    }
}
