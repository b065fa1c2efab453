using SamCluster.Experiment.Grid;
using SamCluster.Messages;
using Xunit;

namespace SamCluster.Tests.Grid;

/// <summary>Every kind of bad grid is refused before anything runs, with file:line:column and a clear message.</summary>
public class GridValidationTests
{
    const string File = "grid.yaml";

    /// <summary>The minimal grid (lines 1-4) followed by <paramref name="lines"/> from line 5 on.</summary>
    static string After(string lines) => GridTestFiles.Minimal + "\n" + lines;

    static IReadOnlyList<string> Problems(string yaml)
    {
        var check = GridConfigLoader.CheckText(yaml, File);
        Assert.False(check.Ok);
        Assert.Null(check.Grid);
        return check.Problems.Select(p => p.ToString()).ToList();
    }

    static void AssertOnlyProblem(string expected, string yaml)
    {
        Assert.Equal([expected], Problems(yaml));
        var error = Assert.Throws<UserInputException>(() => GridConfigLoader.Parse(yaml, File));
        Assert.Equal(expected, error.Message);
    }

    public static TheoryData<string, string> SingleProblems => new()
    {
        // unknown keys, with a suggestion when one is close and the known keys when none is
        { After("recipe: {epoch: 3}"), "grid.yaml:5:10: unknown key 'epoch' in 'recipe' (did you mean 'epochs'?)" },
        { After("recipe:\n  warmup: 3"), "grid.yaml:6:3: unknown key 'warmup' in 'recipe' (known: epochs, batch_size, lr, momentum, weight_decay, rho, looksam_k, looksam_alpha, stem, scheduler)" },
        { After("repeat: 3"), "grid.yaml:5:1: unknown key 'repeat' at the top level (did you mean 'repeats'?)" },
        { After("recipe: {scheduler: {factr: 0.5}}"), "grid.yaml:5:22: unknown key 'factr' in 'recipe.scheduler' (did you mean 'factor'?)" },
        { After("data: {fashion-mnist: {limit: 5}}"), "grid.yaml:5:24: unknown key 'limit' in 'data.fashion-mnist' (known: path, classes, train_limit, test_limit, image_size, test_per_class, split_seed, cache_dir, epochs, batch_size, lr, momentum, weight_decay, rho, looksam_k, looksam_alpha, stem, scheduler)" },
        { After("data: {mnist: {path: /x}}"), "grid.yaml:5:8: unknown key 'mnist' in 'data' (known: fashion-mnist, stanford-dogs)" },
        { After("optimizer_overrides: {sma: {rho: 0.1}}"), "grid.yaml:5:23: unknown key 'sma' in 'optimizer_overrides' (did you mean 'sam'?)" },
        // unknown names
        { "datasets: [fashion_mnist]\nmodels: [resnet18]\noptimizers: [sgd]\nrepeats: 1", "grid.yaml:1:12: unknown dataset 'fashion_mnist' in 'datasets' (did you mean 'fashion-mnist'?)" },
        { "datasets: [cifar10]\nmodels: [resnet18]\noptimizers: [sgd]\nrepeats: 1", "grid.yaml:1:12: unknown dataset 'cifar10' in 'datasets' (known: fashion-mnist, stanford-dogs)" },
        { "datasets: [fashion-mnist]\nmodels: [resnet18, ResNet-34]\noptimizers: [sgd]\nrepeats: 1", "grid.yaml:2:20: unknown model 'ResNet-34' in 'models' (did you mean 'resnet34'?)" },
        { "datasets: [fashion-mnist]\nmodels: [vgg16]\noptimizers: [sgd]\nrepeats: 1", "grid.yaml:2:10: unknown model 'vgg16' in 'models' (known: resnet18, resnet34)" },
        { "datasets: [fashion-mnist]\nmodels: [resnet18]\noptimizers: [sgd, adamw]\nrepeats: 1", "grid.yaml:3:19: unknown optimizer 'adamw' in 'optimizers' (known: sgd, sam, asam, msam, looksam)" },
        { "datasets: [fashion-mnist]\nmodels: [resnet18]\noptimizers: [sgd, sgd]\nrepeats: 1", "grid.yaml:3:19: optimizer 'sgd' is listed twice in 'optimizers'" },
        { "datasets: [fashion-mnist]\nmodels: [resnet18]\noptimizers: [sgd, sam]\nrepeats: 1\nrecipe: {stem: tiny}", "grid.yaml:5:16: 'recipe.stem' must be one of imagenet, small, not 'tiny'" },
        // wrong types
        { After("recipe: {epochs: ten}"), "grid.yaml:5:18: 'recipe.epochs' must be a whole number, not 'ten'" },
        { After("recipe: {epochs: 2.5}"), "grid.yaml:5:18: 'recipe.epochs' must be a whole number, not '2.5'" },
        { After("recipe: {batch_size: \"128\"}"), "grid.yaml:5:22: 'recipe.batch_size' must be a whole number, not the quoted text \"128\" (remove the quotes)" },
        { After("recipe: {lr: fast}"), "grid.yaml:5:14: 'recipe.lr' must be a number, not 'fast'" },
        { After("recipe: {looksam_k: 0}"), "grid.yaml:5:21: 'recipe.looksam_k' must be at least 1, not 0" },
        { After("recipe: {stem: [small]}"), "grid.yaml:5:16: 'recipe.stem' must be a name, not a list" },
        { After("recipe: {scheduler: {factor: [0.5, 0.1]}}"), "grid.yaml:5:30: 'recipe.scheduler.factor' must be a number, not a list" },
        // axes: lists of values
        { After("recipe: {lr: [0.1, 0.1]}"), "grid.yaml:5:20: 'recipe.lr' lists 0.1 twice" },
        { After("recipe: {lr: []}"), "grid.yaml:5:14: 'recipe.lr' is an empty list: give one value or several" },
        { After("recipe: {lr: [0.1, 20]}"), "grid.yaml:5:20: each item of 'recipe.lr' must be at most 10, not 20" },
        { After("recipe: {epochs: [2, 2.5]}"), "grid.yaml:5:22: each item of 'recipe.epochs' must be a whole number, not 2.5" },
        { After("recipe: {lr: [0.1, fast]}"), "grid.yaml:5:20: each item of 'recipe.lr' must be a number, not 'fast'" },
        { After("optimizer_overrides:\n  sam: {rho: [0.05, 0.1]}"), "grid.yaml:6:14: 'optimizer_overrides.sam.rho' must be one value: lists of values (axes) go under 'recipe' or 'data.DATASET'" },
        { After("recipe: {lr: }"), "grid.yaml:5:14: 'recipe.lr' has no value" },
        { After("recipe: 5"), "grid.yaml:5:9: 'recipe' must be a mapping (key: value lines or {key: value}), not '5'" },
        { After("seed: x1"), "grid.yaml:5:7: 'seed' must be a whole number, not 'x1'" },
        { "datasets: [fashion-mnist]\nmodels: [resnet18]\noptimizers: [sgd]\nrepeats: many", "grid.yaml:4:10: 'repeats' must be a whole number, not 'many'" },
        { "datasets: {fashion-mnist: 1}\nmodels: [resnet18]\noptimizers: [sgd]\nrepeats: 1", "grid.yaml:1:11: 'datasets' must be a list of dataset names, not a mapping" },
        { "datasets: []\nmodels: [resnet18]\noptimizers: [sgd]\nrepeats: 1", "grid.yaml:1:11: 'datasets' is empty: list at least one dataset name" },
        // out of range
        { "datasets: [fashion-mnist]\nmodels: [resnet18]\noptimizers: [sgd]\nrepeats: 0", "grid.yaml:4:10: 'repeats' must be at least 1, not 0" },
        { "datasets: [fashion-mnist]\nmodels: [resnet18]\noptimizers: [sgd]\nrepeats: 50000", "grid.yaml:4:10: 'repeats' must be at most 1000, not 50000" },
        { After("recipe: {epochs: 99999999999}"), "grid.yaml:5:18: 'recipe.epochs' must be at most 10000, not 99999999999" },
        { After("recipe: {epochs: 0}"), "grid.yaml:5:18: 'recipe.epochs' must be at least 1, not 0" },
        { After("recipe: {batch_size: -1}"), "grid.yaml:5:22: 'recipe.batch_size' must be at least 2, not -1" },
        { After("recipe: {lr: 0}"), "grid.yaml:5:14: 'recipe.lr' must be above 0, not 0" },
        { After("recipe: {rho: -0.05}"), "grid.yaml:5:15: 'recipe.rho' must be at least 0, not -0.05" },
        { After("recipe: {momentum: 1}"), "grid.yaml:5:20: 'recipe.momentum' must be below 1, not 1" },
        { After("recipe: {momentum: -0.1}"), "grid.yaml:5:20: 'recipe.momentum' must be at least 0, not -0.1" },
        { After("recipe: {weight_decay: -1}"), "grid.yaml:5:24: 'recipe.weight_decay' must be at least 0, not -1" },
        { After("recipe: {scheduler: {factor: 1}}"), "grid.yaml:5:30: 'recipe.scheduler.factor' must be below 1, not 1" },
        { After("recipe: {scheduler: {factor: 0}}"), "grid.yaml:5:30: 'recipe.scheduler.factor' must be above 0, not 0" },
        { After("recipe: {scheduler: {patience: -1}}"), "grid.yaml:5:32: 'recipe.scheduler.patience' must be at least 0, not -1" },
        { After("recipe: {scheduler: {min_lr: -1.0e-6}}"), "grid.yaml:5:30: 'recipe.scheduler.min_lr' must be at least 0, not -1.0e-6" },
        { After("recipe: {lr: .inf}"), "grid.yaml:5:14: 'recipe.lr' must be a number, not '.inf'" },
        { After("data:\n  fashion-mnist:\n    test_limit: 4"), "grid.yaml:7:17: 'data.fashion-mnist.test_limit' must be 0 (all) or at least the number of classes (5), not 4" },
        { After("data:\n  fashion-mnist:\n    train_limit: -1"), "grid.yaml:7:18: 'data.fashion-mnist.train_limit' must be at least 0, not -1" },
        { After("data:\n  fashion-mnist:\n    epochs: 0"), "grid.yaml:7:13: 'data.fashion-mnist.epochs' must be at least 1, not 0" },
        { After("optimizer_overrides:\n  sgd: {momentum: 1.5}"), "grid.yaml:6:19: 'optimizer_overrides.sgd.momentum' must be below 1, not 1.5" },
        // data
        { "datasets: [fashion-mnist, stanford-dogs]\nmodels: [resnet18]\noptimizers: [sgd]\nrepeats: 1", "grid.yaml:1:27: dataset 'stanford-dogs' has no data folder and no default one: set 'data.stanford-dogs.path' (its Images/ folder)" },
        { "datasets: [stanford-dogs]\nmodels: [resnet18]\noptimizers: [sgd]\nrepeats: 1\ndata:\n  stanford-dogs: {epochs: 2}", "grid.yaml:6:18: dataset 'stanford-dogs' has no data folder and no default one: set 'data.stanford-dogs.path' (its Images/ folder)" },
        { After("data: {fashion-mnist: {path: \"\"}}"), "grid.yaml:5:30: 'data.fashion-mnist.path' is empty" },
        { After("data: {fashion-mnist: {image_size: 64}}"), "grid.yaml:5:24: 'data.fashion-mnist.image_size' applies only to stanford-dogs (fashion-mnist images are 28x28)" },
        { After("data: {fashion-mnist: {classes: [0, 10]}}"), "grid.yaml:5:37: Fashion-MNIST class 10 in 'data.fashion-mnist.classes' is out of range (0-9)" },
        { After("data: {fashion-mnist: {classes: [0, Snaker]}}"), "grid.yaml:5:37: unknown Fashion-MNIST class 'Snaker' in 'data.fashion-mnist.classes' (did you mean 'Sneaker'?) (use 0-9 or one of: T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot)" },
        { After("data: {fashion-mnist: {classes: [1, Trouser]}}"), "grid.yaml:5:37: class 'Trouser' is listed twice in 'data.fashion-mnist.classes'" },
        { After("data: {fashion-mnist: {classes: [3]}}"), "grid.yaml:5:33: 'data.fashion-mnist.classes' needs at least 2 classes to classify" },
        { After("data: {stanford-dogs: {classes: [Chihuahua, 7]}}"), "grid.yaml:5:45: '7' in 'data.stanford-dogs.classes' is not a breed: use a folder name (n02085620-Chihuahua), a breed name (Chihuahua) or a synset (n02085620)" },
        { After("data: {stanford-dogs: {test_per_class: 0}}"), "grid.yaml:5:40: 'data.stanford-dogs.test_per_class' must be at least 1, not 0" },
        // the file as a whole
        { "datasets: [fashion-mnist]\nmodels: [resnet18]\noptimizers: [sgd]", "grid.yaml:1:1: missing key 'repeats' (a grid needs datasets, models, optimizers and repeats)" },
        { "- fashion-mnist\n- resnet18", "grid.yaml:1:1: a grid is a mapping of keys (datasets:, models:, ...), not a list" },
        { "just text", "grid.yaml:1:1: a grid is a mapping of keys (datasets:, models:, ...), not 'just text'" },
        { GridTestFiles.Minimal + "\n---\ndatasets: [fashion-mnist]", "grid.yaml:6:1: a grid file holds one YAML document, this one holds several ('---')" },
        { "", "grid.yaml: is empty: a grid needs at least 'datasets', 'models', 'optimizers' and 'repeats'" },
        { "  \n# nothing but a comment\n", "grid.yaml: is empty: a grid needs at least 'datasets', 'models', 'optimizers' and 'repeats'" },
        { "abc\0def", "grid.yaml: is a binary file (it holds NUL bytes), not a YAML grid" },
    };

    [Theory]
    [MemberData(nameof(SingleProblems))]
    public void Refuses_with_file_line_and_column(string yaml, string expected) => AssertOnlyProblem(expected, yaml);

    [Theory]
    [InlineData("datasets: [fashion-mnist\nmodels: [resnet18]\n", "grid.yaml:1:11: not valid YAML: the file ends before this '[' or '{' is closed")]
    [InlineData("datasets: [fashion-mnist\nmodels: [resnet18]\n\n", "grid.yaml:1:11: not valid YAML: the file ends before this '[' or '{' is closed")]
    [InlineData("models: [resnet18]\n  foo: bar\n", "grid.yaml:2:3: not valid YAML: While parsing a block mapping, did not find expected key")]
    [InlineData("datasets: [fashion-mnist]\ndatasets: [stanford-dogs]\n", "grid.yaml:2:1: not valid YAML: Duplicate key datasets")]
    [InlineData("datasets: *nowhere\n", "grid.yaml:1:1")]
    [InlineData("datasets: [fashion-mnist]\nrecipe:\n  lr: 0.1\n\tepochs: 3\n", "grid.yaml:4:1: not valid YAML: While scanning a plain scalar, found a tab character")]
    public void Malformed_yaml_is_reported_with_the_parsers_line(string yaml, string expectedStart)
    {
        var problem = Assert.Single(Problems(yaml));
        Assert.StartsWith(expectedStart, problem);
        Assert.Contains("not valid YAML", problem);
    }

    [Fact]
    public void Reports_all_problems_in_file_order_and_parse_names_the_first()
    {
        var yaml = """
            datasets: [fashion-mnist]
            models: [resnet81]
            optimizers: [sgd]
            repeats: -2
            recipe:
              lr: 0
            """;

        Assert.Equal(
        [
            "grid.yaml:2:10: unknown model 'resnet81' in 'models' (did you mean 'resnet18'?)",
            "grid.yaml:4:10: 'repeats' must be at least 1, not -2",
            "grid.yaml:6:7: 'recipe.lr' must be above 0, not 0",
        ], Problems(yaml));

        var error = Assert.Throws<UserInputException>(() => GridConfigLoader.Parse(yaml, File));
        Assert.Equal("grid.yaml:2:10: unknown model 'resnet81' in 'models' (did you mean 'resnet18'?) "
            + "(and 2 more problems; 'samcluster validate grid.yaml' lists all)", error.Message);
    }
}
