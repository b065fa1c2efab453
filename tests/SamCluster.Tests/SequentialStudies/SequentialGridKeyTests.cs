using SamCluster.Experiment;
using SamCluster.Experiment.Grid;
using SamCluster.Tests.Grid;
using Xunit;

namespace SamCluster.Tests.SequentialStudies;

/// <summary>The grid's `sequential` key: read when right, refused at its line when not, absent changes nothing.</summary>
public sealed class SequentialGridKeyTests
{
    static string Grid(int repeats, string sequential) => $"""
        datasets: [fashion-mnist]
        models: [resnet18]
        optimizers: [sgd, sam]
        repeats: {repeats}
        {sequential}
        """;

    [Fact]
    public void A_full_key_is_read()
    {
        var grid = GridConfigLoader.Parse(Grid(30, "sequential: {looks: [5, 10, 20, 30], alpha: 0.05, spending: pocock, margin_pp: 0.2, test: paired}"), "grid.yaml");
        Assert.Equal(new SequentialPlan([5, 10, 20, 30], 0.05, "pocock", 0.2, "paired"), grid.Sequential);
    }

    [Fact]
    public void Without_the_key_nothing_changes()
    {
        var grid = GridConfigLoader.Parse(GridTestFiles.Minimal, "grid.yaml");
        Assert.Null(grid.Sequential);
        Assert.Equal(GridConfigLoader.Parse(GridTestFiles.Minimal, "grid.yaml").Fingerprint, grid.Fingerprint);
    }

    [Theory]
    [InlineData(30, "sequential: {looks: [5, 10, 20], alpha: 0.05, spending: pocock}", "grid.yaml:5:29: the last look of 'sequential.looks' (20) must equal 'repeats' (30, line 4)")]
    [InlineData(30, "sequential: {looks: [5, 20, 10, 30], alpha: 0.05, spending: pocock}", "grid.yaml:5:29: 'sequential.looks' must increase: 10 comes after 20")]
    [InlineData(4, "sequential: {looks: [1, 4], alpha: 0.05, spending: pocock}", "grid.yaml:5:22: each item of 'sequential.looks' must be at least 2, not 1")]
    [InlineData(4, "sequential: {looks: [2, 4], alpha: 0.5, spending: pocock}", "grid.yaml:5:36: 'sequential.alpha' must be below 0.5, not 0.5")]
    [InlineData(4, "sequential: {looks: [2, 4], alpha: 0, spending: pocock}", "grid.yaml:5:36: 'sequential.alpha' must be above 0, not 0")]
    [InlineData(4, "sequential: {looks: [2, 4], alpha: 0.05, spending: pocok}", "grid.yaml:5:52: 'sequential.spending' must be one of obrien-fleming, pocock, not 'pocok' (did you mean 'pocock'?)")]
    [InlineData(4, "sequential: {looks: 4, alpha: 0.05, spending: pocock}", "grid.yaml:5:21: 'sequential.looks' must be a list of repeats per arm, e.g. [5, 10, 20, 30]")]
    [InlineData(4, "sequential: {looks: [2, 4], alpha: 0.05, spending: pocock, test: wilcoxon}", "grid.yaml:5:66: 'sequential.test' must be one of welch, paired, not 'wilcoxon'")]
    [InlineData(4, "sequential: {looks: [2, 4], spending: pocock}", "grid.yaml:5:13: 'sequential' needs 'alpha': the one-sided error per comparison, e.g. 0.05")]
    [InlineData(4, "sequential: {looks: [2, 4], alpha: 0.05, spending: pocock, look: 3}", "grid.yaml:5:60: unknown key 'look' in 'sequential' (did you mean 'looks'?)")]
    public void A_bad_key_is_refused_at_its_line(int repeats, string sequential, string problem)
    {
        var check = GridConfigLoader.CheckText(Grid(repeats, sequential), "grid.yaml");
        Assert.False(check.Ok);
        Assert.Equal([problem], check.Problems.Select(p => p.ToString()));
    }
}
