using System.CommandLine;
using SamCluster.Experiment;
using SamCluster.Messages;

namespace SamCluster.Cli.Commands;

/// <summary>train-one's recipe flags, one per <see cref="RecipeTable"/> key: its flag name, help, type and default come
/// from the table, so a new recipe key is a flag here without a line of its own.</summary>
public sealed class RecipeFlags
{
    readonly List<(RecipeKey Key, Option Option)> _flags = [];

    public static RecipeFlags Create()
    {
        var flags = new RecipeFlags();
        foreach (var key in RecipeTable.Keys)
            flags._flags.Add((key, key switch
            {
                // No default: the dataset's, decided once the dataset is known.
                NumberKey { Whole: true, Default: null } n => new Option<int?>(n.Flag) { Description = Sentence(n.Description) },
                // No fixed default: the optimizer's own (MSAM's rho), decided once the optimizer is known.
                NumberKey { Whole: false, OptimizerDefaults.Count: > 0 } n => new Option<double?>(n.Flag) { Description = Sentence(n.Description) },
                NumberKey { Whole: true } n => new Option<int>(n.Flag) { Description = Sentence(n.Description), DefaultValueFactory = _ => (int)n.Default!.Value },
                NumberKey n => new Option<double>(n.Flag) { Description = Sentence(n.Description), DefaultValueFactory = _ => n.Default!.Value },
                // A choice's description starts with a value ("imagenet (…) or small (…)"): named by its flag, never capitalized.
                ChoiceKey c => new Option<string>(c.Flag) { Description = Sentence($"{c.Flag.TrimStart('-')}: {c.Description}"), DefaultValueFactory = _ => c.Default },
                SwitchKey s => new Option<bool>(s.Flag) { Description = Sentence(s.Description) },
                _ => throw new InvalidOperationException($"recipe key {key} has no flag type"),
            }));
        return flags;
    }

    /// <summary>The table's description as help writes every flag's: a sentence ("Initial learning rate.").</summary>
    static string Sentence(string description) =>
        description.Length == 0 ? description : char.ToUpperInvariant(description[0]) + description[1..] + (description.EndsWith('.') ? "" : ".");

    public void AddTo(Command command)
    {
        foreach (var (_, option) in _flags) command.Options.Add(option);
    }

    /// <summary>The recipe the flags give; <paramref name="defaultEpochs"/> where --epochs is not given, and
    /// <paramref name="optimizer"/>'s own defaults where its keys are not.</summary>
    public Recipe Recipe(ParseResult parse, int defaultEpochs, string optimizer) =>
        _flags.Aggregate(RecipeTable.Defaults(defaultEpochs, optimizer), (recipe, flag) => (flag.Key, flag.Option) switch
        {
            (NumberKey key, Option<int?> option) => parse.GetValue(option) is { } value ? key.With(recipe, value) : recipe,
            (NumberKey key, Option<double?> option) => parse.GetValue(option) is { } value ? key.With(recipe, value) : recipe,
            (NumberKey key, Option<int> option) => key.With(recipe, parse.GetValue(option)),
            (NumberKey key, Option<double> option) => key.With(recipe, parse.GetValue(option)),
            (ChoiceKey key, Option<string> option) => key.With(recipe, parse.GetValue(option)!),
            (SwitchKey key, Option<bool> option) => key.With(recipe, parse.GetValue(option)),
            _ => throw new InvalidOperationException($"recipe flag {flag.Option.Name} does not match its key {flag.Key}"),
        });
}
