using System.Globalization;
using SamCluster.Messages;

namespace SamCluster.Experiment.Grid;

/// <summary>A recipe key the grid varies: a list of values under 'recipe' or 'data.DATASET' ("lr: [0.1, 0.01]").</summary>
public sealed record RecipeAxis(NumberKey Of, IReadOnlyList<double> Values)
{
    public string Key => Of.Key;

    /// <summary>SGD trials do not multiply over SAM's own keys (rho), nor other optimizers over LookSAM's: each SAM
    /// cell is compared with the SGD trials of the values both share.</summary>
    public bool AppliesTo(OptimizerFacts optimizer) => Of.AppliesTo(optimizer);
}

/// <summary>One value of each axis that applies to a trial: its place in the grid, and the text of its trial id.</summary>
public sealed record RecipeCell(IReadOnlyList<(NumberKey Key, double Value)> Values)
{
    public static readonly RecipeCell None = new([]);

    /// <summary>"lr=0.01,rho=0.1" in <see cref="RecipeTable.Axes"/> order; null when nothing varies.</summary>
    public string? Text => Values.Count == 0 ? null : RecipeAxes.Format(Values.Select(v => (v.Key.Key, NumberRule.Text(v.Value))));

    public Recipe ApplyTo(Recipe recipe) => Values.Aggregate(recipe, (r, v) => v.Key.With(r, v.Value));
}

/// <summary>The keys a grid may vary, and how a cell is written in trial ids, trials.csv and reports.</summary>
public static class RecipeAxes
{
    /// <summary>Every combination of one value per axis (the first axis outermost); one empty cell for no axes.</summary>
    public static IReadOnlyList<RecipeCell> Cells(IReadOnlyList<RecipeAxis> axes)
    {
        IEnumerable<IReadOnlyList<(NumberKey, double)>> cells = [[]];
        foreach (var axis in axes.OrderBy(a => IndexOf(a.Key)))
            cells = cells.SelectMany(cell => axis.Values.Select(v => (IReadOnlyList<(NumberKey, double)>)[.. cell, (axis.Of, v)]));
        return cells.Select(values => new RecipeCell(values)).ToList();
    }

    /// <summary>"key=value,key=value" in <see cref="RecipeTable.Axes"/> order.</summary>
    public static string Format(IEnumerable<(string Key, string Value)> values) =>
        string.Join(",", values.OrderBy(v => IndexOf(v.Key)).Select(v => $"{v.Key}={v.Value}"));

    /// <summary>The key/value pairs of a cell's text (empty for null or ""); values as written.</summary>
    public static IReadOnlyList<(string Key, string Value)> Parse(string? cell) =>
        string.IsNullOrEmpty(cell) ? [] : cell.Split(',').Select(part =>
        {
            var equals = part.IndexOf('=');
            return equals > 0 ? (part[..equals], part[(equals + 1)..]) : (part, "");
        }).ToList();

    /// <summary>The cell without SAM's own keys: the SGD cell a SAM cell is compared with.</summary>
    public static string? Shared(string? cell)
    {
        var shared = Parse(cell).Where(v => !RecipeTable.IsSamOnly(v.Key)).ToList();
        return shared.Count == 0 ? null : Format(shared);
    }

    /// <summary>The cell of <paramref name="optimizer"/>'s arm in the comparison of <paramref name="comparisonCell"/>:
    /// the whole cell for SAM and its kin, the shared part for SGD.</summary>
    public static string? ArmCell(string optimizer, string? comparisonCell) =>
        Vocabulary.FindOptimizer(optimizer) is { SamKin: false } ? Shared(comparisonCell) : comparisonCell;

    public static double? Value(string? cell, string key) =>
        Parse(cell).Where(v => v.Key == key).Select(v => (double?)double.Parse(v.Value, CultureInfo.InvariantCulture)).FirstOrDefault();

    static int IndexOf(string key)
    {
        for (var i = 0; i < RecipeTable.Axes.Count; i++) if (RecipeTable.Axes[i].Key == key) return i;
        return RecipeTable.Axes.Count;
    }
}
