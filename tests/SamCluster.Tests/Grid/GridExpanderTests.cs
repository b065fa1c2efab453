using SamCluster.Experiment.Grid;
using SamCluster.Messages;
using Xunit;

namespace SamCluster.Tests.Grid;

public class GridExpanderTests
{
    static readonly GridConfig Study = GridConfigLoader.Parse("""
        datasets: [fashion-mnist, stanford-dogs]
        models: [resnet18, resnet34]
        optimizers: [sgd, sam]
        repeats: 5
        data: {stanford-dogs: {path: /dogs}}
        """, "grid.yaml");

    [Fact]
    public void One_trial_per_combination_with_unique_ids_in_file_order()
    {
        var trials = GridExpander.Expand(Study);

        Assert.Equal(40, trials.Count);
        Assert.Equal(40, trials.Select(t => t.Key.Id).Distinct().Count());
        Assert.Equal(
        [
            "fashion-mnist/resnet18/sgd/1", "fashion-mnist/resnet18/sgd/2", "fashion-mnist/resnet18/sgd/3",
            "fashion-mnist/resnet18/sgd/4", "fashion-mnist/resnet18/sgd/5", "fashion-mnist/resnet18/sam/1",
        ], trials.Take(6).Select(t => t.Key.Id));
        Assert.Equal("stanford-dogs/resnet34/sam/5", trials[^1].Key.Id);
        Assert.All(trials, t => Assert.Equal(t.Key, TrialKey.Parse(t.Key.Id)));
    }

    [Fact]
    public void Each_trial_carries_its_datasets_data_and_its_optimizers_recipe()
    {
        var trials = GridExpander.Expand(Study);

        Assert.All(trials, t => Assert.Equal(t.Key.Dataset, t.Data.Dataset));
        Assert.All(trials.Where(t => t.Key.Dataset == "stanford-dogs"), t => Assert.Equal(30, t.Recipe.Epochs));
        Assert.All(trials.Where(t => t.Key.Dataset == "fashion-mnist"), t => Assert.Equal(20, t.Recipe.Epochs));
    }

    [Fact]
    public void Seeds_are_derived_from_the_trial_and_shared_by_the_optimizers_of_a_repeat()
    {
        var trials = GridExpander.Expand(Study);

        Assert.All(trials, t => Assert.Equal(t.Key.DeriveSeed(0), t.Seed));
        foreach (var pair in trials.GroupBy(t => (t.Key.Dataset, t.Key.Model, t.Key.Repeat)))
            Assert.Single(pair.Select(t => t.Seed).Distinct());
        Assert.Equal(20, trials.Select(t => t.Seed).Distinct().Count());
    }

    [Fact]
    public void Ids_and_seeds_do_not_depend_on_the_order_of_the_lists_but_on_the_grid_seed()
    {
        var reordered = GridConfigLoader.Parse("""
            datasets: [stanford-dogs, fashion-mnist]
            models: [resnet34, resnet18]
            optimizers: [sam, sgd]
            repeats: 5
            data: {stanford-dogs: {path: /dogs}}
            """, "grid.yaml");
        var reseeded = Study with { Seed = 1 };

        static Dictionary<string, long> SeedById(GridConfig grid) => GridExpander.Expand(grid).ToDictionary(t => t.Key.Id, t => t.Seed);
        Assert.Equal(SeedById(Study), SeedById(reordered));
        Assert.Equal(SeedById(Study), SeedById(Study));
        Assert.All(SeedById(reseeded), pair => Assert.NotEqual(SeedById(Study)[pair.Key], pair.Value));
    }
}
