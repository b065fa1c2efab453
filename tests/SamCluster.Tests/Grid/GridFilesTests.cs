using SamCluster.Coordinator.Grid;
using SamCluster.Messages;
using Xunit;

namespace SamCluster.Tests.Grid;

/// <summary>The grid files shipped in deploy/grids load and say what the study and the smoke run need.</summary>
public class GridFilesTests
{
    [Fact]
    public void Paper_grid_is_the_study()
    {
        var grid = GridConfigLoader.Load(GridTestFiles.Grid("paper.yaml"));

        Assert.Equal(40, grid.TrialCount);
        Assert.Equal(["stanford-dogs", "fashion-mnist"], grid.Datasets);
        Assert.Equal(["resnet18", "resnet34"], grid.Models);
        Assert.Equal(["sgd", "sam"], grid.Optimizers);
        Assert.Equal(5, grid.Repeats);

        var dogs = grid.PlanFor("stanford-dogs");
        Assert.Equal("/data/stanford-dogs/Images", dogs.Data.Root);
        Assert.Equal(KnownNames.StudyDogBreeds, dogs.Data.Classes);
        Assert.Equal((256, 36, 0, 0), (dogs.Data.ImageSize, dogs.Data.TestPerClass, dogs.Data.TrainLimit, dogs.Data.TestLimit));
        Assert.All(dogs.RecipeByOptimizer.Values, r => Assert.Equal(30, r.Epochs));

        var fashion = grid.PlanFor("fashion-mnist");
        Assert.Equal("/usr/share/datasets/fashion-mnist", fashion.Data.Root);
        Assert.Equal(["0", "1", "2", "3", "4"], fashion.Data.Classes);
        Assert.Equal(30_000, TrialOrder.TrainImages(fashion.Data));
        Assert.Equal(1_328, TrialOrder.TrainImages(dogs.Data));
        Assert.All(fashion.RecipeByOptimizer.Values, r => Assert.Equal(20, r.Epochs));

        // The study's recipe, written out in the file, equals the built-in defaults.
        var sam = dogs.RecipeByOptimizer["sam"];
        Assert.Equal(new Recipe(Epochs: 30), sam);
        Assert.Equal(new Recipe(Epochs: 30), dogs.RecipeByOptimizer["sgd"]);
    }

    [Fact]
    public void Quick_grid_is_a_small_fashion_mnist_run()
    {
        var grid = GridConfigLoader.Load(GridTestFiles.Grid("quick.yaml"));

        Assert.Equal(12, grid.TrialCount);
        Assert.Equal(["fashion-mnist"], grid.Datasets);
        Assert.Equal(3, grid.Repeats);
        var plan = grid.PlanFor("fashion-mnist");
        Assert.Equal((1600, 500), (plan.Data.TrainLimit, plan.Data.TestLimit));
        Assert.All(plan.RecipeByOptimizer.Values, r => Assert.Equal(2, r.Epochs));
    }

    [Fact]
    public void Shipped_grids_have_different_fingerprints()
    {
        var paper = GridConfigLoader.Load(GridTestFiles.Grid("paper.yaml")).Fingerprint;
        var quick = GridConfigLoader.Load(GridTestFiles.Grid("quick.yaml")).Fingerprint;

        Assert.Matches("^[0-9a-f]{64}$", paper);
        Assert.NotEqual(paper, quick);
    }
}
