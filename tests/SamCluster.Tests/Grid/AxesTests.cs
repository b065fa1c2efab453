using SamCluster.Experiment.Grid;
using SamCluster.RunStore;
using SamCluster.Messages;
using Xunit;
using SamCluster.Experiment;

namespace SamCluster.Tests.Grid;

/// <summary>Recipe lists expand into cells: the cross product, SGD not multiplied over SAM's keys, ids that name what
/// varies; and a run grows only by trials it does not have.</summary>
public class AxesTests
{
    static GridConfig Grid(string recipe, string optimizers = "[sgd, sam]", int repeats = 2, string extra = "") =>
        GridConfigLoader.Parse($"datasets: [fashion-mnist]\nmodels: [resnet18]\noptimizers: {optimizers}\nrepeats: {repeats}\n{recipe}\n{extra}",
            "/grids/grid.yaml");

    static IReadOnlyList<string> Ids(GridConfig grid) => GridExpander.Expand(grid).Select(t => t.Key.Id).Order(StringComparer.Ordinal).ToList();

    [Fact]
    public void A_rho_list_runs_sgd_once_per_repeat_and_sam_once_per_value()
    {
        var grid = Grid("recipe: {rho: [0.05, 0.1]}");
        Assert.Equal(
        [
            "fashion-mnist/resnet18/sam/rho=0.05/1", "fashion-mnist/resnet18/sam/rho=0.05/2",
            "fashion-mnist/resnet18/sam/rho=0.1/1", "fashion-mnist/resnet18/sam/rho=0.1/2",
            "fashion-mnist/resnet18/sgd/1", "fashion-mnist/resnet18/sgd/2",
        ], Ids(grid));
        Assert.Equal(6, grid.TrialCount);
        var trials = GridExpander.Expand(grid);
        Assert.Equal(0.1, trials.Single(t => t.Key.Id == "fashion-mnist/resnet18/sam/rho=0.1/1").Recipe.Rho);
        // Every cell of a repeat shares its seed: each comparison is paired by repeat.
        Assert.Single(trials.Where(t => t.Key.Repeat == 1).Select(t => t.Seed).Distinct());
    }

    [Fact]
    public void Shared_keys_multiply_every_optimizer_and_cells_name_keys_in_a_fixed_order()
    {
        var grid = Grid("recipe: {rho: [0.05, 0.1], lr: [0.01, 0.001]}", repeats: 1);
        Assert.Equal(
        [
            "fashion-mnist/resnet18/sam/lr=0.001,rho=0.05/1", "fashion-mnist/resnet18/sam/lr=0.001,rho=0.1/1",
            "fashion-mnist/resnet18/sam/lr=0.01,rho=0.05/1", "fashion-mnist/resnet18/sam/lr=0.01,rho=0.1/1",
            "fashion-mnist/resnet18/sgd/lr=0.001/1", "fashion-mnist/resnet18/sgd/lr=0.01/1",
        ], Ids(grid));
        var parsed = TrialKey.Parse("fashion-mnist/resnet18/sam/lr=0.01,rho=0.1/1");
        Assert.Equal(("sam", "lr=0.01,rho=0.1", 1), (parsed.Optimizer, parsed.Cell, parsed.Repeat));
    }

    [Fact]
    public void Nothing_varies_ids_stay_dataset_model_optimizer_repeat_and_one_value_lists_are_plain_values()
    {
        Assert.Equal(["fashion-mnist/resnet18/sam/1", "fashion-mnist/resnet18/sgd/1"], Ids(Grid("recipe: {lr: [0.01]}", repeats: 1)));
        Assert.Equal(0.01, GridExpander.Expand(Grid("recipe: {lr: [0.01]}", repeats: 1))[0].Recipe.LearningRate);
    }

    [Fact]
    public void A_dataset_value_replaces_a_grid_wide_list_and_an_optimizer_override_fixes_its_trials()
    {
        var perDataset = Grid("recipe: {epochs: [1, 2]}", repeats: 1, extra: "data:\n  fashion-mnist: {epochs: 3}");
        Assert.All(GridExpander.Expand(perDataset), t => Assert.Equal(3, t.Recipe.Epochs));
        Assert.Equal(2, perDataset.TrialCount);

        var datasetList = Grid("recipe: {epochs: 1}", repeats: 1, extra: "data:\n  fashion-mnist: {epochs: [4, 5]}");
        Assert.Equal(["fashion-mnist/resnet18/sam/epochs=4/1", "fashion-mnist/resnet18/sam/epochs=5/1",
            "fashion-mnist/resnet18/sgd/epochs=4/1", "fashion-mnist/resnet18/sgd/epochs=5/1"], Ids(datasetList));

        var fixedForSam = Grid("recipe: {lr: [0.01, 0.1]}", repeats: 1, extra: "optimizer_overrides:\n  sam: {lr: 0.05}");
        Assert.Equal(["fashion-mnist/resnet18/sam/1", "fashion-mnist/resnet18/sgd/lr=0.01/1", "fashion-mnist/resnet18/sgd/lr=0.1/1"], Ids(fixedForSam));
    }

    [Fact]
    public void Msam_and_looksam_are_grid_names_with_their_own_defaults_and_looksam_keys_only_multiply_looksam()
    {
        var grid = Grid("recipe: {looksam_k: [2, 5]}", optimizers: "[sgd, sam, msam, looksam]", repeats: 1);
        Assert.Equal(
        [
            "fashion-mnist/resnet18/looksam/looksam_k=2/1", "fashion-mnist/resnet18/looksam/looksam_k=5/1",
            "fashion-mnist/resnet18/msam/1", "fashion-mnist/resnet18/sam/1", "fashion-mnist/resnet18/sgd/1",
        ], Ids(grid));
        var trials = GridExpander.Expand(grid).ToDictionary(t => t.Key.Id);
        Assert.Equal(0.3, trials["fashion-mnist/resnet18/msam/1"].Recipe.Rho);             // MSAM's own default
        Assert.Equal(0.05, trials["fashion-mnist/resnet18/sam/1"].Recipe.Rho);
        Assert.Equal(0.05, trials["fashion-mnist/resnet18/sgd/1"].Recipe.Rho);
        var looksam = trials["fashion-mnist/resnet18/looksam/looksam_k=2/1"].Recipe;
        Assert.Equal((0.05, 2, 0.7), (looksam.Rho, looksam.LookSamK, looksam.LookSamAlpha));
        // Each comparison with SGD pairs the SGD trials of the shared cell (none here).
        Assert.Null(RecipeAxes.ArmCell("sgd", "looksam_k=2"));
        Assert.Equal("rho=0.5", RecipeAxes.ArmCell("msam", "rho=0.5"));

        var rhoAxis = Grid("recipe: {rho: [0.1, 1]}", optimizers: "[sgd, msam, looksam]", repeats: 1,
            extra: "optimizer_overrides:\n  looksam: {looksam_alpha: 0.2, looksam_k: 3}");
        Assert.Equal(
        [
            "fashion-mnist/resnet18/looksam/rho=0.1/1", "fashion-mnist/resnet18/looksam/rho=1/1",
            "fashion-mnist/resnet18/msam/rho=0.1/1", "fashion-mnist/resnet18/msam/rho=1/1", "fashion-mnist/resnet18/sgd/1",
        ], Ids(rhoAxis));
        var overridden = GridExpander.Expand(rhoAxis).First(t => t.Key.Optimizer == "looksam").Recipe;
        Assert.Equal((3, 0.2), (overridden.LookSamK, overridden.LookSamAlpha));
    }

    [Fact]
    public void LookSams_keys_leave_other_optimizers_fingerprints_alone()
    {
        static string Fingerprint(string extra) =>
            Grid("", optimizers: "[sgd, sam, msam]", repeats: 1, extra: extra).Fingerprint;
        // Setting LookSAM's keys changes nothing a grid without LookSAM computes, so its fingerprint stays the same.
        Assert.Equal(Fingerprint(""), Fingerprint("recipe: {looksam_k: 3, looksam_alpha: 0.2}"));
        Assert.NotEqual(Grid("", optimizers: "[looksam]", repeats: 1).Fingerprint,
            Grid("recipe: {looksam_k: 3}", optimizers: "[looksam]", repeats: 1).Fingerprint);
    }

    [Fact]
    public void A_specs_json_holds_LookSams_keys_only_when_they_are_set()
    {
        // Checkpoint fingerprints, the wire and the journal serialise specs as JSON: at their defaults the keys are
        // absent, so what was written before LookSAM existed still matches and reads back.
        var defaults = RecipeTable.Defaults(3);
        Assert.DoesNotContain("LookSam", System.Text.Json.JsonSerializer.Serialize(defaults));
        var set = defaults with { LookSamK = 2, LookSamAlpha = 0.25 };
        var json = System.Text.Json.JsonSerializer.Serialize(set);
        Assert.Contains("\"LookSamK\":2", json);
        Assert.Contains("\"LookSamAlpha\":0.25", json);
        Assert.Equal(set, System.Text.Json.JsonSerializer.Deserialize<Recipe>(json));
        Assert.Equal(defaults, System.Text.Json.JsonSerializer.Deserialize<Recipe>(System.Text.Json.JsonSerializer.Serialize(defaults)));
        Assert.Equal(defaults, defaults with { LookSamK = Recipe.DefaultLookSamK });
    }

    [Fact]
    public void Validate_lists_what_varies()
    {
        var line = GridSummary.Describe(Grid("recipe: {rho: [0.05, 0.1], lr: [0.01, 0.001]}"));
        Assert.StartsWith("12 trials (1 dataset × 1 model × 2 optimizers × (2 lr × 2 rho, SAM only) × 2 repeats)", line);
    }

    // ---- growing a run ----

    static RunPlan Grow(GridConfig before, GridConfig after) => RunGrowth.Plan(GridExpander.Expand(before), GridExpander.Expand(after));

    [Fact]
    public void More_repeats_add_only_the_new_repeats()
    {
        var plan = Grow(Grid("recipe: {lr: 0.01}", repeats: 2), Grid("recipe: {lr: 0.01}", repeats: 3));
        Assert.Equal(["fashion-mnist/resnet18/sam/3", "fashion-mnist/resnet18/sgd/3"], plan.Added.Select(t => t.Key.Id).Order());
        Assert.Equal(4, plan.Kept);
        Assert.Equal(6, plan.Trials.Count);
    }

    [Fact]
    public void A_key_that_starts_to_vary_keeps_the_trials_it_had_under_their_ids()
    {
        var plan = Grow(Grid("recipe: {lr: 0.01}", repeats: 1), Grid("recipe: {lr: [0.01, 0.1]}", repeats: 1));
        Assert.Equal(["fashion-mnist/resnet18/sam/1", "fashion-mnist/resnet18/sam/lr=0.1/1", "fashion-mnist/resnet18/sgd/1",
            "fashion-mnist/resnet18/sgd/lr=0.1/1"], plan.Trials.Select(t => t.Key.Id).Order(StringComparer.Ordinal));
        Assert.Equal(["fashion-mnist/resnet18/sam/lr=0.1/1", "fashion-mnist/resnet18/sgd/lr=0.1/1"], plan.Added.Select(t => t.Key.Id).Order(StringComparer.Ordinal));
        Assert.Equal(0.01, plan.Trials.Single(t => t.Key.Id == "fashion-mnist/resnet18/sgd/1").Recipe.LearningRate);
    }

    [Fact]
    public void More_axis_values_datasets_and_optimizers_are_growth()
    {
        var plan = Grow(Grid("recipe: {rho: [0.05, 0.1]}", optimizers: "[sgd, sam]", repeats: 1),
            Grid("recipe: {rho: [0.05, 0.1, 0.2]}", optimizers: "[sgd, sam, asam]", repeats: 1));
        Assert.Equal(["fashion-mnist/resnet18/asam/rho=0.05/1", "fashion-mnist/resnet18/asam/rho=0.1/1", "fashion-mnist/resnet18/asam/rho=0.2/1",
            "fashion-mnist/resnet18/sam/rho=0.2/1"], plan.Added.Select(t => t.Key.Id).Order(StringComparer.Ordinal));
        Assert.Equal(3, plan.Kept);
    }

    [Theory]
    [InlineData("recipe: {lr: 0.01}", "recipe: {lr: 0.02}", "this grid changes 'lr' of trial fashion-mnist/resnet18/sgd/1 from 0.01 to 0.02")]
    [InlineData("recipe: {epochs: 2}", "recipe: {epochs: 3}", "this grid changes 'epochs' of trial fashion-mnist/resnet18/sgd/1 from 2 to 3")]
    [InlineData("recipe: {scheduler: {patience: 3}}", "recipe: {scheduler: {patience: 4}}", "changes 'scheduler.patience'")]
    [InlineData("recipe: {lr: 0.01}\nseed: 1", "recipe: {lr: 0.01}\nseed: 2", "changes 'seed'")]
    public void A_change_to_anything_an_existing_trial_used_is_refused_naming_key_and_values(string before, string after, string message)
    {
        var error = Assert.Throws<UserInputException>(() => Grow(Grid(before, optimizers: "[sgd]", repeats: 1), Grid(after, optimizers: "[sgd]", repeats: 1)));
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void Fewer_repeats_or_a_dropped_optimizer_are_refused()
    {
        var fewer = Assert.Throws<UserInputException>(() => Grow(Grid("", repeats: 2), Grid("", repeats: 1)));
        Assert.Contains("this grid no longer has trial fashion-mnist/resnet18/sgd/2 of the run", fewer.Message);
        var dropped = Assert.Throws<UserInputException>(() => Grow(Grid("", optimizers: "[sgd, sam]"), Grid("", optimizers: "[sgd]")));
        Assert.Contains("no longer has trial fashion-mnist/resnet18/sam/1", dropped.Message);
    }
}
