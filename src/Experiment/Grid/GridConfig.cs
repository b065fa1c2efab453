using System.Numerics;
using SamCluster.Messages;

namespace SamCluster.Experiment.Grid;

/// <summary>How one dataset of the grid is run: its data and, per optimizer, the recipe after all overrides.</summary>
/// <param name="PathOrigin">Where <see cref="DataSpec.Root"/> came from, for messages: "grid.yaml:14:11" or "built-in default".</param>
/// <param name="RecipeByOptimizer">Each optimizer's recipe before any axis value is applied.</param>
public sealed record DatasetPlan(DataSpec Data, string PathOrigin, IReadOnlyDictionary<string, Recipe> RecipeByOptimizer)
{
    /// <summary>The keys each optimizer's trials vary (none for most grids).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<RecipeAxis>> AxesByOptimizer { get; init; } =
        new Dictionary<string, IReadOnlyList<RecipeAxis>>();

    /// <summary>How many cells the optimizer's trials have: the product of its axes' sizes, computed without making
    /// them (and without overflow), so that a grid too large to expand is refused before it is.</summary>
    public BigInteger CellCount(string optimizer) =>
        (AxesByOptimizer.GetValueOrDefault(optimizer) ?? []).Aggregate(BigInteger.One, (product, axis) => product * axis.Values.Count);

    /// <summary>The optimizer's cells with their recipes: one cell (nothing varied) unless the grid has axes.</summary>
    public IReadOnlyList<(RecipeCell Cell, Recipe Recipe)> Cells(string optimizer) =>
        RecipeAxes.Cells(AxesByOptimizer.GetValueOrDefault(optimizer) ?? [])
            .Select(cell => (cell, cell.ApplyTo(RecipeByOptimizer[optimizer]))).ToList();
}

/// <summary>A parsed and fully validated grid: every combination of <see cref="Datasets"/> × <see cref="Models"/> ×
/// <see cref="Optimizers"/> × the optimizer's recipe cells × repeats 1..<see cref="Repeats"/> is one trial (see
/// <see cref="GridExpander"/>).</summary>
/// <param name="Source">The grid file's name as given, for messages.</param>
/// <param name="Seed">Mixed into every trial's derived seed (<see cref="TrialKey.DeriveSeed"/>).</param>
/// <param name="Plans">One per dataset, in <see cref="Datasets"/> order.</param>
/// <param name="CheckpointEvery">Checkpoint each trial after every this many epochs (0 = never). Not part of the
/// fingerprint: it changes how a run survives failures, not what it computes.</param>
public sealed record GridConfig(
    string Source,
    long Seed,
    IReadOnlyList<string> Datasets,
    IReadOnlyList<string> Models,
    IReadOnlyList<string> Optimizers,
    int Repeats,
    IReadOnlyList<DatasetPlan> Plans,
    int CheckpointEvery = GridConfig.DefaultCheckpointEvery)
{
    /// <summary>The most repeats a grid may have (and so the largest look of a sequential design).</summary>
    public const int MaxRepeats = 1000;

    public const int DefaultCheckpointEvery = 1;

    /// <summary>The grid's `pack` key: how many repeats of one cell a worker trains as one fused model (1 = each alone).
    /// Not part of any trial's fingerprint: packed and solo trials compute the same thing (up to kernel accumulation
    /// order), so changing it neither grows nor changes a run. A node's or `local`'s --pack overrides it.</summary>
    public int Pack { get; init; } = DefaultPack;

    public const int DefaultPack = 1;

    /// <summary>The largest pack: far beyond what fits a device's memory for any of the grid's models, and low enough
    /// that a typo (500) is refused rather than tried.</summary>
    public const int MaxPack = 64;

    /// <summary>The grid's `sequential` key: repeats run in looks that may stop a comparison early. Null: every trial
    /// runs, as without the key.</summary>
    public SequentialPlan? Sequential { get; init; }

    /// <summary>The most trials one grid may expand to (docs/REFERENCE.md, "Grid config"): far beyond any study, and low enough
    /// that a grid of typos (2,000 lr × 2,000 rho) is refused instead of filling the memory.</summary>
    public const int MaxTrials = 100_000;

    /// <summary>Trials the grid expands to, from the list sizes alone (nothing is expanded).</summary>
    public int TrialCount => (int)CountTrials(Plans, Models.Count, Optimizers, Repeats);

    /// <summary>Σ over datasets and optimizers of models × cells × repeats, exact however large (a grid's lists can
    /// multiply past any fixed-width integer).</summary>
    public static BigInteger CountTrials(IEnumerable<DatasetPlan> plans, int models, IEnumerable<string> optimizers, int repeats) =>
        plans.Aggregate(BigInteger.Zero, (sum, plan) =>
            sum + optimizers.Aggregate(BigInteger.Zero, (cells, o) => cells + plan.CellCount(o))) * models * repeats;

    /// <summary>SHA-256 (hex) of the expanded trials' canonical form; equal for grids that run the same trials
    /// (see <see cref="GridFingerprint"/>), so a run folder can refuse to continue with a different grid.</summary>
    public string Fingerprint => GridFingerprint.Of(GridExpander.Expand(this));

    public DatasetPlan PlanFor(string dataset) =>
        Plans.FirstOrDefault(p => p.Data.Dataset == dataset)
        ?? throw new ArgumentException($"dataset '{dataset}' is not in grid {Source}", nameof(dataset));

    /// <summary>Refuses (UserInputException) a dataset folder missing on this machine. Not part of loading, because
    /// the coordinator's machine need not hold the data; call it where the trials will run locally.</summary>
    public void CheckLocalDataPaths()
    {
        foreach (var plan in Plans)
        {
            var root = plan.Data.Root;
            if (Directory.Exists(root)) continue;
            var what = File.Exists(root) ? "is a file, not a folder" : "does not exist on this machine";
            throw new UserInputException(
                $"{plan.Data.Dataset} data folder '{root}' ({plan.PathOrigin}) {what}; set 'data.{plan.Data.Dataset}.path' in {Source}");
        }
    }
}
