using SamCluster.Experiment.Grid;
using SamCluster.Messages;
using Xunit;
using SamCluster.Experiment;

namespace SamCluster.Tests.Grid;

/// <summary>What a valid grid file turns into: names, defaults, overrides, paths.</summary>
public class GridConfigLoaderTests
{
    static GridConfig Parse(string yaml) => GridConfigLoader.Parse(yaml, "/grids/grid.yaml");

    [Fact]
    public void Plain_name_lists_give_every_combination()
    {
        var grid = Parse("""
            datasets: [fashion-mnist, stanford-dogs]
            models: [resnet18, resnet34]
            optimizers: [sgd, sam, asam]
            repeats: 5
            data: {stanford-dogs: {path: /dogs}}
            """);

        Assert.Equal(["fashion-mnist", "stanford-dogs"], grid.Datasets);
        Assert.Equal(["resnet18", "resnet34"], grid.Models);
        Assert.Equal(["sgd", "sam", "asam"], grid.Optimizers);
        Assert.Equal(60, grid.TrialCount);
        Assert.Equal(0, grid.Seed);
    }

    [Fact]
    public void Block_lists_and_single_names_work_too()
    {
        var grid = Parse("""
            datasets:
              - fashion-mnist
            models: resnet34
            optimizers:
              - sam
            repeats: 2
            seed: 7
            """);

        Assert.Equal(["fashion-mnist"], grid.Datasets);
        Assert.Equal(["resnet34"], grid.Models);
        Assert.Equal(["sam"], grid.Optimizers);
        Assert.Equal(7, grid.Seed);
    }

    [Fact]
    public void Defaults_are_the_study()
    {
        var plan = Parse(GridTestFiles.Minimal).PlanFor("fashion-mnist");

        Assert.Equal(new DataSpec("fashion-mnist", "/usr/share/datasets/fashion-mnist", plan.Data.Classes), plan.Data);
        Assert.Equal(["0", "1", "2", "3", "4"], plan.Data.Classes);
        Assert.Equal("built-in default", plan.PathOrigin);
        Assert.Equal(new Recipe(Epochs: 20, BatchSize: 128, LearningRate: 0.001, Momentum: 0.9, WeightDecay: 0, Rho: 0.05,
            Adaptive: false, PlateauFactor: 0.5, PlateauPatience: 3, MinLearningRate: 1e-6, Stem: "imagenet"),
            plan.RecipeByOptimizer["sgd"]);
    }

    [Fact]
    public void Stanford_dogs_defaults_to_the_study_breeds_at_256_pixels_for_30_epochs()
    {
        var plan = Parse("""
            datasets: [stanford-dogs]
            models: [resnet18]
            optimizers: [sgd]
            repeats: 1
            data: {stanford-dogs: {path: /data/dogs/Images}}
            """).PlanFor("stanford-dogs");

        Assert.Equal(Vocabulary.StudyDogBreeds, plan.Data.Classes);
        Assert.Equal(8, plan.Data.Classes.Count);
        Assert.Equal((256, 36, 0), (plan.Data.ImageSize, plan.Data.TestPerClass, plan.Data.SplitSeed));
        Assert.Equal(30, plan.RecipeByOptimizer["sgd"].Epochs);
        Assert.Equal("/grids/grid.yaml:5:30", plan.PathOrigin);
    }

    [Fact]
    public void Overrides_apply_recipe_then_dataset_then_optimizer()
    {
        var grid = Parse("""
            datasets: [fashion-mnist, stanford-dogs]
            models: [resnet18]
            optimizers: [sgd, sam, asam]
            repeats: 1
            recipe:
              epochs: 4
              lr: 0.01
              rho: 0.1
              stem: small
              scheduler: {factor: 0.25, patience: 1, min_lr: 0}
            data:
              stanford-dogs: {path: /dogs, lr: 0.02, batch_size: 32, weight_decay: 5.0e-4}
            optimizer_overrides:
              asam: {rho: 0.5}
            """);

        var fashionSam = grid.PlanFor("fashion-mnist").RecipeByOptimizer["sam"];
        Assert.Equal(RecipeTable.Defaults(4) with { LearningRate = 0.01, Rho = 0.1, Stem = "small", PlateauFactor = 0.25, PlateauPatience = 1, MinLearningRate = 0 }, fashionSam);

        var dogs = grid.PlanFor("stanford-dogs").RecipeByOptimizer;
        Assert.Equal((0.02, 32, 5e-4, 4), (dogs["sgd"].LearningRate, dogs["sgd"].BatchSize, dogs["sgd"].WeightDecay, dogs["sgd"].Epochs));
        Assert.Equal((0.1, false), (dogs["sam"].Rho, dogs["sam"].Adaptive));
        Assert.Equal((0.5, true, 0.02), (dogs["asam"].Rho, dogs["asam"].Adaptive, dogs["asam"].LearningRate));
    }

    [Fact]
    public void Fashion_mnist_classes_by_name_become_indices()
    {
        var plan = Parse(GridTestFiles.Minimal + """

            data:
              fashion-mnist: {classes: [trouser, "Ankle boot", 8, "3"], train_limit: 100, test_limit: 50}
            """).PlanFor("fashion-mnist");

        Assert.Equal(["1", "9", "8", "3"], plan.Data.Classes);
        Assert.Equal((100, 50), (plan.Data.TrainLimit, plan.Data.TestLimit));
    }

    [Fact]
    public void Stanford_dogs_classes_are_kept_as_written()
    {
        var plan = Parse("""
            datasets: [stanford-dogs]
            models: [resnet18]
            optimizers: [sgd]
            repeats: 1
            data:
              stanford-dogs:
                path: /dogs
                classes: [Chihuahua, n02085782, n02085936-Maltese_dog]
                image_size: 64
                test_per_class: 10
                split_seed: 3
            """).PlanFor("stanford-dogs");

        Assert.Equal(["Chihuahua", "n02085782", "n02085936-Maltese_dog"], plan.Data.Classes);
        Assert.Equal((64, 10, 3), (plan.Data.ImageSize, plan.Data.TestPerClass, plan.Data.SplitSeed));
    }

    [Fact]
    public void Relative_paths_start_at_the_grid_files_folder()
    {
        var plan = Parse(GridTestFiles.Minimal + """

            data:
              fashion-mnist: {path: ../data/fm, cache_dir: cache}
            """).PlanFor("fashion-mnist");

        Assert.Equal("/data/fm", plan.Data.Root);
        Assert.Equal("/grids/cache", plan.Data.CacheDir);
    }

    [Fact]
    public void A_data_entry_of_a_dataset_not_run_needs_no_path_but_is_still_checked()
    {
        var grid = Parse(GridTestFiles.Minimal + """

            data:
              stanford-dogs: {epochs: 3}
            """);
        Assert.Equal(["fashion-mnist"], grid.Datasets);

        var error = Assert.Throws<UserInputException>(() => Parse(GridTestFiles.Minimal + """

            data:
              stanford-dogs: {epochs: 0}
            """));
        Assert.Equal("/grids/grid.yaml:6:27: 'data.stanford-dogs.epochs' must be at least 1, not 0", error.Message);
    }

    [Fact]
    public void Comments_anchors_and_a_byte_order_mark_are_fine()
    {
        var grid = Parse("\uFEFF" + """
            # the study, small
            datasets: [fashion-mnist]   # only one
            models: &models [resnet18, resnet34]
            optimizers: [sgd]
            repeats: 1
            """);

        Assert.Equal(["resnet18", "resnet34"], grid.Models);
    }

    [Fact]
    public void Check_local_data_paths_refuses_a_missing_folder_and_accepts_an_existing_one()
    {
        using var temp = new TempFolder();
        var present = Parse(GridTestFiles.Minimal + $"\ndata: {{fashion-mnist: {{path: {temp.Path}}}}}\n");
        present.CheckLocalDataPaths();

        var missing = Parse(GridTestFiles.Minimal + $"\ndata: {{fashion-mnist: {{path: {temp.Path}/nope}}}}\n");
        var error = Assert.Throws<UserInputException>(missing.CheckLocalDataPaths);
        Assert.Equal($"fashion-mnist data folder '{temp.Path}/nope' (/grids/grid.yaml:5:30) does not exist on this machine; "
            + "set 'data.fashion-mnist.path' in /grids/grid.yaml", error.Message);
    }
}
