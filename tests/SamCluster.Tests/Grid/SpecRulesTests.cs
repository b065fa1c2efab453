using SamCluster.Experiment.Grid;
using SamCluster.Messages;
using Xunit;
using SamCluster.Experiment;

namespace SamCluster.Tests.Grid;

/// <summary>The one validator: its rules, and that the grid reader and the validator agree on every boundary, so what
/// `validate` accepts a node runs and what a node refuses `validate` refuses first.</summary>
public class SpecRulesTests
{
    static TrialSpec Spec(Recipe? recipe = null, DataSpec? data = null, string model = "resnet18", string optimizer = "sam") =>
        new(new TrialKey("fashion-mnist", model, optimizer, 1), 1, data ?? new DataSpec("fashion-mnist", "", []), recipe ?? RecipeTable.Defaults(Vocabulary.FashionMnist.DefaultEpochs));

    [Fact]
    public void The_study_recipe_and_every_default_pass()
    {
        Assert.Empty(SpecRules.Check(Spec()));
        foreach (var dataset in Vocabulary.Datasets)
        foreach (var model in Vocabulary.Models)
        foreach (var optimizer in Vocabulary.Optimizers)
        {
            var data = new DataSpec(dataset.Name, dataset.DefaultRoot ?? "/data/Images", dataset.DefaultClasses, ImageSize: dataset.DefaultImageSize);
            var spec = new TrialSpec(new TrialKey(dataset.Name, model.Name, optimizer.Name, 1), 1, data, RecipeTable.Defaults(dataset.DefaultEpochs));
            Assert.Empty(SpecRules.Check(spec));
        }
    }

    [Theory]
    [InlineData("lr", 1e308, "--lr must be at most 10, not 1E+308")]
    [InlineData("lr", 0.0, "--lr must be above 0, not 0")]
    [InlineData("lr", double.PositiveInfinity, "--lr must be a finite number, not Infinity")]
    [InlineData("momentum", 1.0, "--momentum must be below 1, not 1")]
    [InlineData("momentum", -0.5, "--momentum must be at least 0, not -0.5")]
    [InlineData("rho", 11.0, "--rho must be at most 10, not 11")]
    [InlineData("weight_decay", double.NaN, "--weight-decay must be a finite number, not NaN")]
    [InlineData("factor", 1.0, "--plateau-factor must be below 1, not 1")]
    [InlineData("min_lr", -1e-6, "--min-lr must be at least 0, not -1E-06")]
    [InlineData("looksam_k", 0.0, "--looksam-k must be at least 1, not 0")]
    [InlineData("looksam_alpha", -0.1, "--looksam-alpha must be at least 0, not -0.1")]
    public void Out_of_range_recipe_values_are_named_as_flags(string what, double value, string message)
    {
        var recipe = what switch
        {
            "lr" => RecipeTable.Defaults(Vocabulary.FashionMnist.DefaultEpochs) with { LearningRate = value },
            "momentum" => RecipeTable.Defaults(Vocabulary.FashionMnist.DefaultEpochs) with { Momentum = value },
            "rho" => RecipeTable.Defaults(Vocabulary.FashionMnist.DefaultEpochs) with { Rho = value },
            "weight_decay" => RecipeTable.Defaults(Vocabulary.FashionMnist.DefaultEpochs) with { WeightDecay = value },
            "factor" => RecipeTable.Defaults(Vocabulary.FashionMnist.DefaultEpochs) with { PlateauFactor = value },
            "looksam_k" => RecipeTable.Defaults(Vocabulary.FashionMnist.DefaultEpochs) with { LookSamK = (int)value },
            "looksam_alpha" => RecipeTable.Defaults(Vocabulary.FashionMnist.DefaultEpochs) with { LookSamAlpha = value },
            _ => RecipeTable.Defaults(Vocabulary.FashionMnist.DefaultEpochs) with { MinLearningRate = value },
        };
        var problem = Assert.Single(SpecRules.Check(Spec(recipe)));
        Assert.Equal(message, problem.InFlagTerms);
    }

    [Fact]
    public void Msam_needs_momentum()
    {
        var problem = Assert.Single(SpecRules.Check(Spec(RecipeTable.Defaults(3, "msam") with { Momentum = 0 }, optimizer: "msam")));
        Assert.Equal("--momentum must be above 0 for msam (Momentum-SAM perturbs along the momentum), not 0", problem.InFlagTerms);
        Assert.Empty(SpecRules.Check(Spec(RecipeTable.Defaults(3) with { Momentum = 0 }, optimizer: "sgd")));
        Assert.Empty(SpecRules.Check(Spec(RecipeTable.Defaults(3, "msam"), optimizer: "msam")));
    }

    [Fact]
    public void Whole_number_rules_refuse_fractions_and_name_the_broken_bound()
    {
        Assert.Equal("must be a whole number, not 2.5", RecipeTable.Epochs.Rule.Problem(2.5));
        Assert.Equal("must be at least 2, not 1", RecipeTable.BatchSize.Rule.Problem(1));
        Assert.Equal("must be at most 10000, not 1000000", RecipeTable.Epochs.Rule.Problem(1_000_000));
        Assert.Null(RecipeTable.Epochs.Rule.Problem(10_000));
    }

    [Theory]
    [InlineData(new[] { "3" }, "--classes needs at least 2 classes to classify, not 1")]
    [InlineData(new[] { "3", "Dress" }, "--classes lists class 'Dress' twice")]
    [InlineData(new[] { "0", "12" }, "--classes has a bad class: Fashion-MNIST class 12 is out of range (0-9)")]
    [InlineData(new[] { "0", "Sock" }, "--classes has a bad class: unknown Fashion-MNIST class 'Sock' (use 0-9 or one of: T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot)")]
    public void Fashion_mnist_classes_are_checked_by_the_validator(string[] classes, string message)
    {
        var problem = Assert.Single(SpecRules.Check(Spec(data: new DataSpec("fashion-mnist", "", classes))));
        Assert.Equal(message, problem.InFlagTerms);
    }

    [Fact]
    public void Classes_resolve_by_index_name_or_either_half_of_a_name()
    {
        Assert.Equal(0, Vocabulary.FashionMnistClass("top", out _));
        Assert.Equal(0, Vocabulary.FashionMnistClass("T-shirt", out _));
        Assert.Equal(9, Vocabulary.FashionMnistClass("ANKLE_BOOT", out _));
        Assert.Equal(7, Vocabulary.FashionMnistClass(" 7 ", out _));
        Assert.Null(Vocabulary.FashionMnistClass("-1", out var problem));
        Assert.Equal("Fashion-MNIST class -1 is out of range (0-9)", problem);
    }

    [Fact]
    public void Cross_field_rules_limits_below_the_class_count_and_splits_too_large()
    {
        var limited = Assert.Single(SpecRules.Check(Spec(data: new DataSpec("fashion-mnist", "", [], TrainLimit: 3))));
        Assert.Equal("train_limit must be 0 (all) or at least the number of classes (5), not 3", limited.InGridTerms);

        var dogs = new TrialSpec(new TrialKey("stanford-dogs", "resnet18", "sgd", 1), 1,
            new DataSpec("stanford-dogs", "/data/Images", [], ImageSize: 2048), RecipeTable.Defaults(Vocabulary.FashionMnist.DefaultEpochs));
        var tooLarge = Assert.Single(SpecRules.Check(dogs));
        Assert.StartsWith("--image-size 2048 makes the train split of 8 classes about", tooLarge.InFlagTerms);
        Assert.Empty(SpecRules.Check(dogs with { Data = dogs.Data with { TrainLimit = 40 } }));
    }

    [Fact]
    public void Unknown_names_are_refused_with_the_known_ones()
    {
        var problems = SpecRules.Check(Spec(model: "resnet50", optimizer: "adam"));
        Assert.Equal(["model 'resnet50' is unknown (expected resnet18 or resnet34)", "optimizer 'adam' is unknown (expected sgd, sam, asam, msam, looksam)"],
            problems.Select(p => p.InGridTerms));
    }

    /// <summary>For every numeric recipe rule, values just inside and just outside each bound: the grid reader accepts
    /// a value exactly when the validator accepts the spec it becomes.</summary>
    [Theory]
    [MemberData(nameof(Boundaries))]
    public void The_grid_and_the_validator_agree_on_every_bound(string key, string yamlValue)
    {
        var (prefix, suffix) = key.StartsWith("scheduler.") ? ("recipe: {scheduler: {" + key["scheduler.".Length..] + ": ", "}}") : ("recipe: {" + key + ": ", "}");
        var yaml = $"datasets: [fashion-mnist]\nmodels: [resnet18]\noptimizers: [sgd, sam]\nrepeats: 1\n{prefix}{yamlValue}{suffix}\n";
        var check = GridConfigLoader.CheckText(yaml, "/grids/grid.yaml");
        var value = double.Parse(yamlValue, System.Globalization.CultureInfo.InvariantCulture);
        var recipe = key switch
        {
            "epochs" => RecipeTable.Defaults((int)Math.Clamp(value, int.MinValue, int.MaxValue)),
            "batch_size" => RecipeTable.Defaults(Vocabulary.FashionMnist.DefaultEpochs) with { BatchSize = (int)Math.Clamp(value, int.MinValue, int.MaxValue) },
            "lr" => RecipeTable.Defaults(Vocabulary.FashionMnist.DefaultEpochs) with { LearningRate = value },
            "momentum" => RecipeTable.Defaults(Vocabulary.FashionMnist.DefaultEpochs) with { Momentum = value },
            "weight_decay" => RecipeTable.Defaults(Vocabulary.FashionMnist.DefaultEpochs) with { WeightDecay = value },
            "rho" => RecipeTable.Defaults(Vocabulary.FashionMnist.DefaultEpochs) with { Rho = value },
            "scheduler.factor" => RecipeTable.Defaults(Vocabulary.FashionMnist.DefaultEpochs) with { PlateauFactor = value },
            "scheduler.patience" => RecipeTable.Defaults(Vocabulary.FashionMnist.DefaultEpochs) with { PlateauPatience = (int)Math.Clamp(value, int.MinValue, int.MaxValue) },
            "looksam_k" => RecipeTable.Defaults(Vocabulary.FashionMnist.DefaultEpochs) with { LookSamK = (int)Math.Clamp(value, int.MinValue, int.MaxValue) },
            "looksam_alpha" => RecipeTable.Defaults(Vocabulary.FashionMnist.DefaultEpochs) with { LookSamAlpha = value },
            _ => RecipeTable.Defaults(Vocabulary.FashionMnist.DefaultEpochs) with { MinLearningRate = value },
        };
        var validatorAccepts = SpecRules.Check(Spec(recipe)).Count == 0;
        Assert.True(check.Ok == validatorAccepts,
            $"{key}: {yamlValue}: grid {(check.Ok ? "accepts" : "refuses: " + check.Problems[0])}, validator {(validatorAccepts ? "accepts" : "refuses")}");
    }

    public static TheoryData<string, string> Boundaries()
    {
        var data = new TheoryData<string, string>();
        NumberRule[] rules = [RecipeTable.Epochs.Rule, RecipeTable.BatchSize.Rule, RecipeTable.LearningRate.Rule, RecipeTable.Momentum.Rule, RecipeTable.WeightDecay.Rule,
            RecipeTable.Rho.Rule, RecipeTable.LookSamK.Rule, RecipeTable.LookSamAlpha.Rule, RecipeTable.PlateauFactor.Rule, RecipeTable.PlateauPatience.Rule, RecipeTable.MinLearningRate.Rule];
        foreach (var rule in rules)
        {
            var step = rule.Whole ? 1 : 1e-9;
            foreach (var value in new[] { rule.Min - step, rule.Min, rule.Min + step, rule.Max - step, rule.Max, rule.Max + step })
                data.Add(rule.Key, NumberRule.Text(value));
        }
        return data;
    }
}
