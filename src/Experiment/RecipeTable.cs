using System.Text.Json;
using SamCluster.Messages;

namespace SamCluster.Experiment;

/// <summary>
/// One key of a trial's training recipe, defined once: the name grids write it under, the train-one flag, its bounds
/// and default, whether only SAM and its kin use it, whether a grid may vary it, and its name in the grid fingerprint.
/// The grid reader, axes and overrides, the validator, the fingerprint, the growth check, train-one's flags and the
/// cells of trial ids all read these entries (<see cref="RecipeTable"/>); none spells a key of its own.
/// </summary>
public abstract class RecipeKey
{
    private protected RecipeKey(string key, string flag, string fingerprintName, string description, bool samOnly, bool canVary, bool inGrid,
        IReadOnlyList<string>? onlyFor = null)
    {
        OnlyFor = onlyFor;
        Key = key;
        Flag = flag;
        FingerprintName = fingerprintName;
        Description = description;
        SamOnly = samOnly;
        CanVary = canVary;
        InGrid = inGrid;
    }

    /// <summary>The grid key, as written under 'recipe', 'data.DATASET' and 'optimizer_overrides.OPT'; a dotted key
    /// lives in a nested mapping ("scheduler.factor" is 'scheduler: {factor: ...}'). Also its name in trial-id cells,
    /// growth refusals and validator messages.</summary>
    public string Key { get; }

    /// <summary>train-one's flag ("--lr").</summary>
    public string Flag { get; }

    /// <summary>Its name in the grid fingerprint's canonical JSON. Fixed by every run.json written since the first
    /// version (so "plateau_factor", not the grid's "scheduler.factor"): changing it would change every run's fingerprint.</summary>
    public string FingerprintName { get; }

    /// <summary>What the value means, for train-one's help.</summary>
    public string Description { get; }

    /// <summary>Only optimizers that use SAM read it: SGD trials are not multiplied over its axis values.</summary>
    public bool SamOnly { get; }

    /// <summary>The optimizers that read it, where that is fewer than SAM's kin (LookSAM's k and alpha); null: see
    /// <see cref="SamOnly"/>. Other optimizers' trials are not multiplied over it, and their fingerprint leaves it out,
    /// so adding such a key changed no existing run's fingerprint.</summary>
    public IReadOnlyList<string>? OnlyFor { get; }

    /// <summary>Whether <paramref name="optimizer"/>'s trials read it (and so multiply over its axis values).</summary>
    public bool AppliesTo(OptimizerFacts optimizer) =>
        OnlyFor is { } names ? names.Contains(optimizer.Name) : !SamOnly || optimizer.SamKin;

    /// <summary>A grid may list several values of it under 'recipe' or 'data.DATASET' (an axis of the grid).</summary>
    public bool CanVary { get; }

    /// <summary>A grid may set it; false for what the optimizer's name decides (ASAM's adaptive).</summary>
    public bool InGrid { get; }

    /// <summary>The mapping that holds it in a grid section ("scheduler"), or null for a key written directly there.</summary>
    public string? Section => Key.Contains('.') ? Key[..Key.IndexOf('.')] : null;

    /// <summary>Its name inside <see cref="Section"/> ("factor"), or the key itself.</summary>
    public string Name => Key[(Key.IndexOf('.') + 1)..];

    /// <summary>The value in <paramref name="recipe"/> as text that reads back to it (numbers in round-trip form).</summary>
    public abstract string Text(Recipe recipe);

    /// <summary>What is wrong with the value in <paramref name="recipe"/>, or null.</summary>
    public abstract SpecProblem? Problem(Recipe recipe);

    /// <summary><paramref name="recipe"/> with this key at its default (the epochs' default is the dataset's: see
    /// <see cref="RecipeTable.Defaults"/>).</summary>
    internal abstract Recipe WithDefault(Recipe recipe, string optimizer);

    internal abstract void WriteFingerprint(Utf8JsonWriter json, Recipe recipe);

    public override string ToString() => Key;
}

/// <summary>A number of the recipe, bounded by its <see cref="NumberRule"/> (whole numbers where the rule says so).</summary>
public sealed class NumberKey : RecipeKey
{
    readonly Func<Recipe, double> _get;
    readonly Func<Recipe, double, Recipe> _with;

    internal NumberKey(NumberRule rule, string fingerprintName, double? defaultValue, string description,
        Func<Recipe, double> get, Func<Recipe, double, Recipe> with, bool samOnly = false, bool canVary = false,
        IReadOnlyList<string>? onlyFor = null, IReadOnlyDictionary<string, double>? optimizerDefaults = null)
        : base(rule.Key, rule.Flag ?? throw new ArgumentException("a recipe number has a train-one flag", nameof(rule)),
            fingerprintName, description, samOnly, canVary, inGrid: true, onlyFor)
    {
        Rule = rule;
        Default = defaultValue;
        OptimizerDefaults = optimizerDefaults ?? new Dictionary<string, double>();
        _get = get;
        _with = with;
    }

    public NumberRule Rule { get; }

    /// <summary>Null where the default is not one number (epochs: the dataset's).</summary>
    public double? Default { get; }

    /// <summary>Optimizers whose own default differs from <see cref="Default"/> (MSAM's rho is on another scale).</summary>
    public IReadOnlyDictionary<string, double> OptimizerDefaults { get; }

    /// <summary>The default for <paramref name="optimizer"/>'s trials.</summary>
    public double? DefaultFor(string optimizer) => OptimizerDefaults.TryGetValue(optimizer, out var own) ? own : Default;

    public bool Whole => Rule.Whole;

    public double Get(Recipe recipe) => _get(recipe);

    /// <summary><paramref name="recipe"/> with this key set to <paramref name="value"/> (a whole number for a whole rule).</summary>
    public Recipe With(Recipe recipe, double value) => _with(recipe, value);

    public override string Text(Recipe recipe) => NumberRule.Text(Get(recipe));

    public override SpecProblem? Problem(Recipe recipe) =>
        Rule.Problem(Get(recipe)) is { } problem ? new SpecProblem(Key, Flag, problem) : null;

    internal override Recipe WithDefault(Recipe recipe, string optimizer) => DefaultFor(optimizer) is { } value ? With(recipe, value) : recipe;

    internal override void WriteFingerprint(Utf8JsonWriter json, Recipe recipe)
    {
        if (Whole) json.WriteNumber(FingerprintName, (long)Get(recipe));
        else json.WriteNumber(FingerprintName, Get(recipe));
    }
}

/// <summary>One of a fixed list of names (the ResNet's stem).</summary>
public sealed class ChoiceKey : RecipeKey
{
    readonly Func<Recipe, string> _get;
    readonly Func<Recipe, string, Recipe> _with;

    internal ChoiceKey(string key, string flag, string fingerprintName, IReadOnlyList<string> choices, string defaultValue, string description,
        Func<Recipe, string> get, Func<Recipe, string, Recipe> with)
        : base(key, flag, fingerprintName, description, samOnly: false, canVary: false, inGrid: true)
    {
        Choices = choices;
        Default = defaultValue;
        _get = get;
        _with = with;
    }

    public IReadOnlyList<string> Choices { get; }
    public string Default { get; }

    public string Get(Recipe recipe) => _get(recipe);
    public Recipe With(Recipe recipe, string value) => _with(recipe, value);

    public override string Text(Recipe recipe) => Get(recipe);

    public override SpecProblem? Problem(Recipe recipe) => Choices.Contains(Get(recipe))
        ? null
        : new SpecProblem(Key, Flag, $"must be one of {string.Join(", ", Choices)}, not '{Get(recipe)}'");

    internal override Recipe WithDefault(Recipe recipe, string optimizer) => With(recipe, Default);

    internal override void WriteFingerprint(Utf8JsonWriter json, Recipe recipe) => json.WriteString(FingerprintName, Get(recipe));
}

/// <summary>On or off; grids do not set it (the optimizer's name does), train-one has a flag.</summary>
public sealed class SwitchKey : RecipeKey
{
    readonly Func<Recipe, bool> _get;
    readonly Func<Recipe, bool, Recipe> _with;

    internal SwitchKey(string key, string flag, string fingerprintName, string description, Func<Recipe, bool> get,
        Func<Recipe, bool, Recipe> with, bool samOnly)
        : base(key, flag, fingerprintName, description, samOnly, canVary: false, inGrid: false)
    {
        _get = get;
        _with = with;
    }

    public bool Get(Recipe recipe) => _get(recipe);
    public Recipe With(Recipe recipe, bool value) => _with(recipe, value);

    public override string Text(Recipe recipe) => Get(recipe) ? "true" : "false";

    public override SpecProblem? Problem(Recipe recipe) => null;

    internal override Recipe WithDefault(Recipe recipe, string optimizer) => With(recipe, false);

    internal override void WriteFingerprint(Utf8JsonWriter json, Recipe recipe) => json.WriteBoolean(FingerprintName, Get(recipe));
}

/// <summary>
/// The training recipe's keys, each defined once (<see cref="RecipeKey"/>); the defaults are the study's values.
/// Adding a key: a property on <see cref="Recipe"/> (SamCluster.Messages, it crosses the wire), one entry here, and
/// its use in training. Order matters: it is the order of the fingerprint's fields, of growth checks and of the keys in
/// trial-id cells ("lr=0.01,rho=0.1").
/// </summary>
public static class RecipeTable
{
    // Bounds are far beyond any study and low enough that a typo (lr: 1e308, epochs: 1e9) is caught before it wastes a
    // cluster or overflows (lr·gradient → ∞).
    public static readonly NumberKey Epochs = new(new("epochs", "--epochs", 1, 10_000, Whole: true), "epochs", null,
        $"epochs (default: {string.Join(", ", Vocabulary.Datasets.Select(d => $"{d.DefaultEpochs} for {d.Name}"))})",
        r => r.Epochs, (r, v) => r with { Epochs = (int)v }, canVary: true);

    public static readonly NumberKey BatchSize = new(new("batch_size", "--batch-size", 2, 65_536, Whole: true), "batch_size", 128,
        "images per training step (BatchNorm needs 2)", r => r.BatchSize, (r, v) => r with { BatchSize = (int)v }, canVary: true);

    public static readonly NumberKey LearningRate = new(new("lr", "--lr", 0, 10, MinIncluded: false), "lr", 0.001,
        "initial learning rate", r => r.LearningRate, (r, v) => r with { LearningRate = v }, canVary: true);

    public static readonly NumberKey Momentum = new(new("momentum", "--momentum", 0, 1, MaxIncluded: false), "momentum", 0.9,
        "SGD's momentum", r => r.Momentum, (r, v) => r with { Momentum = v }, canVary: true);

    public static readonly NumberKey WeightDecay = new(new("weight_decay", "--weight-decay", 0, 1), "weight_decay", 0.0,
        "SGD's L2 weight decay", r => r.WeightDecay, (r, v) => r with { WeightDecay = v }, canVary: true);

    // MSAM's default is the reference implementation's (MarlonBecker/MSAM): its rho is on another scale than SAM's.
    // A default of its own, not a second key, so existing sgd/sam grids keep their recipes and fingerprints.
    public static readonly NumberKey Rho = new(new("rho", "--rho", 0, 10), "rho", 0.05,
        "SAM's neighbourhood size (default 0.05; msam: 0.3)", r => r.Rho, (r, v) => r with { Rho = v }, samOnly: true, canVary: true,
        optimizerDefaults: new Dictionary<string, double> { [Vocabulary.MsamName] = 0.3 });

    public static readonly NumberKey LookSamK = new(new("looksam_k", "--looksam-k", 1, 10_000, Whole: true), "looksam_k", Recipe.DefaultLookSamK,
        "LookSAM: a full SAM step every k steps", r => r.LookSamK, (r, v) => r with { LookSamK = (int)v },
        samOnly: true, canVary: true, onlyFor: [Vocabulary.LookSamName]);

    // The reference implementation's default is 0.2; 0.7 is the value the public LookSAM implementations that follow
    // the paper use (the paper's own text was not at hand to confirm it), and the paper's value is the one to start from.
    public static readonly NumberKey LookSamAlpha = new(new("looksam_alpha", "--looksam-alpha", 0, 10), "looksam_alpha", Recipe.DefaultLookSamAlpha,
        "LookSAM: weight of the stored orthogonal gradient component between SAM steps", r => r.LookSamAlpha,
        (r, v) => r with { LookSamAlpha = v }, samOnly: true, canVary: true, onlyFor: [Vocabulary.LookSamName]);

    public static readonly SwitchKey Adaptive = new("adaptive", "--adaptive", "adaptive",
        "adaptive SAM (ASAM); the grid's optimizer 'asam' sets it", r => r.Adaptive, (r, v) => r with { Adaptive = v }, samOnly: true);

    public static readonly NumberKey PlateauFactor = new(new("scheduler.factor", "--plateau-factor", 0, 1, MinIncluded: false, MaxIncluded: false),
        "plateau_factor", 0.5, "ReduceLROnPlateau: the factor a plateau multiplies the learning rate by",
        r => r.PlateauFactor, (r, v) => r with { PlateauFactor = v });

    public static readonly NumberKey PlateauPatience = new(new("scheduler.patience", "--plateau-patience", 0, 10_000, Whole: true),
        "plateau_patience", 3, "ReduceLROnPlateau: epochs without improvement of the test loss before the rate is cut",
        r => r.PlateauPatience, (r, v) => r with { PlateauPatience = (int)v });

    public static readonly NumberKey MinLearningRate = new(new("scheduler.min_lr", "--min-lr", 0, 10), "min_lr", 1e-6,
        "ReduceLROnPlateau: the learning rate is never cut below this", r => r.MinLearningRate, (r, v) => r with { MinLearningRate = v });

    public static readonly ChoiceKey Stem = new("stem", "--stem", "stem", Vocabulary.StemNames, Vocabulary.ImageNetStem.Name,
        string.Join(" or ", Vocabulary.Stems.Select(s => $"{s.Name} ({s.Description})")), r => r.Stem, (r, v) => r with { Stem = v });

    /// <summary>Every key, in the recipe's canonical order.</summary>
    public static readonly IReadOnlyList<RecipeKey> Keys =
        [Epochs, BatchSize, LearningRate, Momentum, WeightDecay, Rho, LookSamK, LookSamAlpha, Adaptive, PlateauFactor, PlateauPatience, MinLearningRate, Stem];

    /// <summary>The keys a grid may vary, in the order cells name them.</summary>
    public static readonly IReadOnlyList<NumberKey> Axes = Keys.OfType<NumberKey>().Where(k => k.CanVary).ToList();

    /// <summary>What a grid section ('recipe', 'data.DATASET', 'optimizer_overrides.OPT') may hold: its plain keys, then
    /// its nested mappings ("scheduler").</summary>
    public static readonly IReadOnlyList<string> GridNames =
    [
        .. Keys.Where(k => k.InGrid && k.Section is null).Select(k => k.Key),
        .. Keys.Where(k => k.InGrid && k.Section is not null).Select(k => k.Section!).Distinct(),
    ];

    /// <summary>The study's recipe with <paramref name="epochs"/> epochs (the one default that depends on the dataset:
    /// <see cref="DatasetFacts.DefaultEpochs"/>), with <paramref name="optimizer"/>'s own defaults (MSAM's rho).</summary>
    public static Recipe Defaults(int epochs, string optimizer = Vocabulary.SgdName) =>
        Keys.Aggregate(new Recipe(epochs, 0, 0, 0, 0, 0, false, 0, 0, 0, ""), (recipe, key) => key.WithDefault(recipe, optimizer));

    /// <summary>The entry of a grid key ("lr", "scheduler.factor"), or null.</summary>
    public static RecipeKey? Find(string key) => Keys.FirstOrDefault(k => k.Key == key);

    public static bool IsSamOnly(string key) => Find(key)?.SamOnly == true;

    /// <summary>Whether <paramref name="optimizer"/>'s trials read the key (an unknown key or optimizer: no).</summary>
    public static bool AppliesTo(string key, string optimizer) =>
        Find(key) is { } entry && Vocabulary.FindOptimizer(optimizer) is { } facts && entry.AppliesTo(facts);

    /// <summary>The recipe's values in grid-key terms, in table order, for growth checks ("lr", "0.001").</summary>
    public static IEnumerable<(string Key, string Value)> Values(Recipe recipe) => Keys.Select(k => (k.Key, k.Text(recipe)));

    /// <summary>Every problem of the recipe, in table order.</summary>
    public static IEnumerable<SpecProblem> Problems(Recipe recipe) => Keys.Select(k => k.Problem(recipe)).OfType<SpecProblem>();

    /// <summary>The recipe's fields of the grid fingerprint, in table order; a key only some optimizers read
    /// (<see cref="RecipeKey.OnlyFor"/>) only in their trials.</summary>
    public static void WriteFingerprint(Utf8JsonWriter json, Recipe recipe, string optimizer)
    {
        foreach (var key in Keys)
            if (key.OnlyFor is not { } names || names.Contains(optimizer)) key.WriteFingerprint(json, recipe);
    }
}
