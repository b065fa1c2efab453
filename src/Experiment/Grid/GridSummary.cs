using System.Globalization;
using SamCluster.Messages;

namespace SamCluster.Experiment.Grid;

/// <summary>Human-readable descriptions of a grid for the CLI and the coordinator's log.</summary>
public static class GridSummary
{
    /// <summary>One line: "40 trials (2 datasets × 2 models × 2 optimizers × 5 repeats), estimated compute 13 PMAC,
    /// longest trial stanford-dogs/resnet34/sam/1 (1.9 PMAC), fingerprint 1a2b3c4d5e6f".</summary>
    public static string Describe(GridConfig grid)
    {
        var ordered = TrialOrder.LongestFirst(GridExpander.Expand(grid));
        var total = ordered.Sum(t => TrialOrder.EstimatedCost(t));
        var longest = ordered[0];
        var cells = grid.Plans.SelectMany(p => p.AxesByOptimizer.Values.SelectMany(a => a)).DistinctBy(a => a.Key)
            .Select(a => $"{a.Values.Count} {a.Key}").ToList();
        var axes = cells.Count == 0 ? "" : $" × ({string.Join(" × ", cells)}{(cells.Any(c => RecipeTable.IsSamOnly(c.Split(' ')[1])) ? ", SAM only" : "")})";
        return $"{Count(grid.TrialCount, "trial")} ({Count(grid.Datasets.Count, "dataset")} × {Count(grid.Models.Count, "model")} × "
            + $"{Count(grid.Optimizers.Count, "optimizer")}{axes} × {Count(grid.Repeats, "repeat")}), "
            + $"estimated compute {Gmac(total)}, longest trial {longest.Key.Id} ({Gmac(TrialOrder.EstimatedCost(longest))}), "
            + $"fingerprint {grid.Fingerprint[..12]}" + Sequential(grid);
    }

    /// <summary>"; sequential (looks [2, 4], …): look 1 runs 8 trials, the rest only while their comparison is open".</summary>
    static string Sequential(GridConfig grid) => grid.Sequential is not { } plan ? ""
        : $"; sequential ({plan}): look 1 runs {Count(GridExpander.Expand(grid).Count(t => plan.LookOf(t.Key.Repeat) == 1), "trial")}, "
          + "each later look only for comparisons still open";

    /// <summary>One line per trial in the order they will be started: id, seed, epochs, train images, estimated compute
    /// (and, in a sequential grid, its look: later looks start only after their comparison's decision).</summary>
    public static IEnumerable<string> TrialLines(GridConfig grid)
    {
        var trials = TrialOrder.LongestFirst(GridExpander.Expand(grid));
        if (grid.Sequential is { } plan) trials = trials.OrderBy(t => plan.LookOf(t.Key.Repeat)).ToList();   // stable: longest first within a look
        var width = Math.Max(34, trials.Max(t => t.Key.Id.Length));
        return trials.Select(t => TrialLine(t, width) + (grid.Sequential is { } p ? $"  look {p.LookOf(t.Key.Repeat)}" : ""));
    }

    static string TrialLine(TrialSpec t, int idWidth) => string.Create(CultureInfo.InvariantCulture,
        $"{t.Key.Id.PadRight(idWidth)} seed {t.Seed,-16} {t.Recipe.Epochs,3} {(t.Recipe.Epochs == 1 ? "epoch " : "epochs")}  {TrialOrder.TrainImages(t.Data),6:0} train images "
        + $"{t.Data.ImageSize}x{t.Data.ImageSize}  {Gmac(TrialOrder.EstimatedCost(t)),10}");

    static string Count(int n, string what) => $"{n} {what}{(n == 1 ? "" : "s")}";

    /// <summary>GMACs with an SI prefix: "850 GMAC", "1.9 PMAC".</summary>
    public static string Gmac(double gmac)
    {
        string[] prefixes = ["G", "T", "P", "E"];
        var i = 0;
        for (; i < prefixes.Length - 1 && Math.Abs(gmac) >= 1000; i++) gmac /= 1000;
        var digits = Math.Abs(gmac) >= 100 ? "0" : Math.Abs(gmac) >= 10 ? "0.#" : "0.##";   // 3 significant figures
        return gmac.ToString(digits, CultureInfo.InvariantCulture) + $" {prefixes[i]}MAC";
    }
}
