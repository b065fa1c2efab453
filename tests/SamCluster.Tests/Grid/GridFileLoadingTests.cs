using System.Text;
using SamCluster.Experiment.Grid;
using SamCluster.Messages;
using Xunit;
using SamCluster.Experiment;

namespace SamCluster.Tests.Grid;

/// <summary><see cref="GridConfigLoader.Load"/> on files: files that are not grids at all (missing, folders, empty,
/// binary, not UTF-8), how a file's name and folder are used, and the grid files shipped in deploy/grids, which load
/// and say what the study and the smoke run need. (Parsing a grid's text is <see cref="GridConfigLoaderTests"/>; the
/// command line's refusals of bad grid files are BadInput's GridFileTests.)</summary>
public class GridFileLoadingTests
{
    static string LoadError(string path) => Assert.Throws<UserInputException>(() => GridConfigLoader.Load(path)).Message;

    // Files that are not grids.

    [Fact]
    public void Missing_file()
    {
        using var temp = new TempFolder();
        var path = Path.Combine(temp.Path, "nope.yaml");
        Assert.Equal($"{path}: not found", LoadError(path));
    }

    [Fact]
    public void Folder_instead_of_a_file()
    {
        using var temp = new TempFolder();
        Assert.Equal($"{temp.Path}: is a folder, not a grid file", LoadError(temp.Path));
    }

    [Fact]
    public void Empty_file()
    {
        using var temp = new TempFolder();
        var path = temp.File("grid.yaml", []);
        Assert.Equal($"{path}: is empty: a grid needs at least 'datasets', 'models', 'optimizers' and 'repeats'", LoadError(path));
    }

    [Fact]
    public void Binary_file()
    {
        using var temp = new TempFolder();
        var path = temp.File("grid.yaml", [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00]);
        Assert.Equal($"{path}: is a binary file (it holds NUL bytes), not a YAML grid", LoadError(path));
    }

    [Fact]
    public void Text_that_is_not_utf8_is_refused_at_its_line()
    {
        using var temp = new TempFolder();
        var latin1 = Encoding.Latin1.GetBytes("datasets: [fashion-mnist]\nmodels: [résnet18]\n");
        var path = temp.File("grid.yaml", latin1);
        Assert.Equal($"{path}:2:11: is not UTF-8 text (invalid byte 0xE9); a grid is a YAML text file", LoadError(path));
    }

    // Files that are grids: the file's name and folder.

    [Fact]
    public void Utf8_file_with_a_byte_order_mark_loads()
    {
        using var temp = new TempFolder();
        var path = temp.File("grid.yaml", [.. Encoding.UTF8.GetPreamble(), .. Encoding.UTF8.GetBytes(GridTestFiles.Minimal)]);
        Assert.Equal(1, GridConfigLoader.Load(path).TrialCount);
    }

    [Fact]
    public void Load_names_the_file_as_given_and_takes_relative_paths_from_its_folder()
    {
        using var temp = new TempFolder();
        var path = temp.File("grid.yaml", Encoding.UTF8.GetBytes(GridTestFiles.Minimal + "\ndata: {fashion-mnist: {path: fm}}\n"));
        var grid = GridConfigLoader.Load(path);
        Assert.Equal(path, grid.Source);
        Assert.Equal(Path.Combine(temp.Path, "fm"), grid.PlanFor("fashion-mnist").Data.Root);
    }

    // The grids shipped in deploy/grids.

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
        Assert.Equal(Vocabulary.StudyDogBreeds, dogs.Data.Classes);
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
        Assert.Equal(RecipeTable.Defaults(30), sam);
        Assert.Equal(RecipeTable.Defaults(30), dogs.RecipeByOptimizer["sgd"]);
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
    public void Cheaper_sam_grid_is_the_study_with_msam_and_looksam_beside_sam()
    {
        var grid = GridConfigLoader.Load(GridTestFiles.Grid("cheaper-sam.yaml"));
        var paper = GridConfigLoader.Load(GridTestFiles.Grid("paper.yaml"));

        Assert.Equal(80, grid.TrialCount);
        Assert.Equal(["sgd", "sam", "msam", "looksam"], grid.Optimizers);
        Assert.Equal(paper.Datasets, grid.Datasets);
        Assert.Equal(paper.Models, grid.Models);
        foreach (var dataset in grid.Datasets)
        {
            var (plan, study) = (grid.PlanFor(dataset), paper.PlanFor(dataset));
            Assert.Equal(study.Data, plan.Data);
            // SGD and SAM are the study's; each cheaper SAM has its own defaults (MSAM's rho 0.3; LookSAM k 5, alpha 0.7).
            Assert.Equal(study.RecipeByOptimizer["sgd"], plan.RecipeByOptimizer["sgd"]);
            Assert.Equal(study.RecipeByOptimizer["sam"], plan.RecipeByOptimizer["sam"]);
            var epochs = study.RecipeByOptimizer["sgd"].Epochs;
            Assert.Equal(RecipeTable.Defaults(epochs, "msam"), plan.RecipeByOptimizer["msam"]);
            Assert.Equal(RecipeTable.Defaults(epochs, "looksam"), plan.RecipeByOptimizer["looksam"]);
        }
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
