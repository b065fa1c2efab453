using SamCluster.Messages;

namespace SamCluster.Experiment.Grid;

/// <summary>The recipe keys one section of the grid sets ('recipe', a 'data.DATASET' entry, an 'optimizer_overrides.OPT'
/// entry); keys it leaves out keep the value of the level below. Which keys there are, their bounds and whether they
/// may vary is <see cref="RecipeTable"/>'s.</summary>
public sealed class RecipeOverride
{
    /// <summary>What the section sets, each as a change to the recipe below it, in table order.</summary>
    readonly IReadOnlyList<(RecipeKey Key, Func<Recipe, Recipe> Set)> _values;

    public RecipeOverride() : this([], []) { }

    RecipeOverride(IReadOnlyList<(RecipeKey, Func<Recipe, Recipe>)> values, IReadOnlyList<RecipeAxis> axes)
    {
        _values = values;
        Axes = axes;
    }

    public Recipe ApplyTo(Recipe recipe) => _values.Aggregate(recipe, (r, v) => v.Set(r));

    /// <summary>Keys this section lists several values of (an empty list when it varies nothing).</summary>
    public IReadOnlyList<RecipeAxis> Axes { get; }

    /// <summary>Whether this section sets <paramref name="key"/> to one value (which then holds, whatever a lower
    /// level varies).</summary>
    public bool Fixes(string key) => _values.Any(v => v.Key.Key == key);

    /// <summary>Reads the recipe keys of <paramref name="section"/> (which may hold other keys too), each checked against
    /// the validator's range for it. With <paramref name="axesAllowed"/>, a key the table lets vary may list several
    /// values: it becomes an axis of the grid (one value is a plain value).</summary>
    internal static RecipeOverride Read(YamlSection section, bool axesAllowed)
    {
        var values = new List<(RecipeKey, Func<Recipe, Recipe>)>();
        var axes = new List<RecipeAxis>();
        var nested = RecipeTable.Keys.Where(k => k.InGrid && k.Section is not null).GroupBy(k => k.Section!)
            .ToDictionary(g => g.Key, g => section.Section(g.Key, g.Select(k => k.Name).ToList()));
        foreach (var key in RecipeTable.Keys.Where(k => k.InGrid))
        {
            var holder = key.Section is { } name ? nested[name] : section;
            if (holder is null) continue;
            switch (key)
            {
                case NumberKey number when number.CanVary && holder.IsList(number.Name):
                    if (!axesAllowed)
                    {
                        holder.Problems.Add(holder.Node(number.Name)!.Start,
                            $"{holder.Name(number.Name)} must be one value: lists of values (axes) go under 'recipe' or 'data.DATASET'");
                        break;
                    }
                    var list = holder.NumberList(number.Name, number.Rule);
                    if (list is { Count: 1 }) values.Add((number, r => number.With(r, list[0])));
                    else if (list is not null) axes.Add(new RecipeAxis(number, list));
                    break;
                case NumberKey number:
                    var value = number.Whole ? holder.WholeNumber(number.Name, number.Rule) : holder.Number(number.Name, number.Rule);
                    if (value is { } v) values.Add((number, r => number.With(r, v)));
                    break;
                case ChoiceKey choice:
                    if (holder.Choice(choice.Name, choice.Choices) is { } picked) values.Add((choice, r => choice.With(r, picked)));
                    break;
            }
        }
        return new RecipeOverride(values, axes);
    }
}
