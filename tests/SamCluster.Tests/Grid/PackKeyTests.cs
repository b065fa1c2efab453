using SamCluster.Experiment.Grid;
using SamCluster.Messages;
using Xunit;

namespace SamCluster.Tests.Grid;

/// <summary>The grid's `pack` key: how many repeats of a cell a worker trains as one model. A run setting, like
/// checkpoint_every: no trial's fingerprint holds it.</summary>
public sealed class PackKeyTests
{
    const string Study = """
        datasets: [fashion-mnist]
        models: [resnet18]
        optimizers: [sgd, sam]
        repeats: 3
        """;

    [Fact]
    public void Defaults_to_one_and_reads_a_whole_number()
    {
        Assert.Equal(1, GridConfigLoader.Parse(Study, "grid.yaml").Pack);
        Assert.Equal(3, GridConfigLoader.Parse(Study + "\npack: 3", "grid.yaml").Pack);
        Assert.Equal(GridConfig.MaxPack, GridConfigLoader.Parse(Study + $"\npack: {GridConfig.MaxPack}", "grid.yaml").Pack);
    }

    [Fact]
    public void Changing_it_neither_grows_nor_changes_the_run()
    {
        var solo = GridConfigLoader.Parse(Study, "grid.yaml");
        var packed = GridConfigLoader.Parse(Study + "\npack: 3", "grid.yaml");
        Assert.Equal(solo.Fingerprint, packed.Fingerprint);
        Assert.Equal(GridExpander.Expand(solo), GridExpander.Expand(packed));
    }

    [Theory]
    [InlineData("pack: 0", "grid.yaml:5:7: 'pack' must be at least 1, not 0")]
    [InlineData("pack: 65", "grid.yaml:5:7: 'pack' must be at most 64, not 65")]
    [InlineData("pack: 2.5", "grid.yaml:5:7: 'pack' must be a whole number, not '2.5'")]
    [InlineData("pack: [3]", "grid.yaml:5:7: 'pack' must be a whole number, not a list")]
    [InlineData("packs: 3", "grid.yaml:5:1: unknown key 'packs' at the top level (did you mean 'pack'?)")]
    public void A_bad_value_is_one_line_with_its_place(string line, string expected)
    {
        var check = GridConfigLoader.CheckText(Study + "\n" + line, "grid.yaml");
        Assert.Equal([expected], check.Problems.Select(p => p.ToString()));
        Assert.Equal(expected, Assert.Throws<UserInputException>(() => GridConfigLoader.Parse(Study + "\n" + line, "grid.yaml")).Message);
    }
}
