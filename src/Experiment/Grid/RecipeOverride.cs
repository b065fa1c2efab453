using SamCluster.Messages;

namespace SamCluster.Experiment.Grid;

/// <summary>The recipe keys one section of the grid sets ('recipe', a 'data.DATASET' entry, an 'optimizer_overrides.OPT'
/// entry); keys it leaves out keep the value of the level below.</summary>
public sealed record RecipeOverride(
    int? Epochs = null,
    int? BatchSize = null,
    double? LearningRate = null,
    double? Momentum = null,
    double? WeightDecay = null,
    double? Rho = null,
    string? Stem = null,
    double? PlateauFactor = null,
    int? PlateauPatience = null,
    double? MinLearningRate = null)
{
    public static readonly IReadOnlyList<string> Keys =
        ["epochs", "batch_size", "lr", "momentum", "weight_decay", "rho", "stem", "scheduler"];

    public static readonly IReadOnlyList<string> SchedulerKeys = ["factor", "patience", "min_lr"];

    public Recipe ApplyTo(Recipe recipe) => recipe with
    {
        Epochs = Epochs ?? recipe.Epochs,
        BatchSize = BatchSize ?? recipe.BatchSize,
        LearningRate = LearningRate ?? recipe.LearningRate,
        Momentum = Momentum ?? recipe.Momentum,
        WeightDecay = WeightDecay ?? recipe.WeightDecay,
        Rho = Rho ?? recipe.Rho,
        Stem = Stem ?? recipe.Stem,
        PlateauFactor = PlateauFactor ?? recipe.PlateauFactor,
        PlateauPatience = PlateauPatience ?? recipe.PlateauPatience,
        MinLearningRate = MinLearningRate ?? recipe.MinLearningRate,
    };

    /// <summary>Keys this section lists several values of (an empty list when it varies nothing).</summary>
    public IReadOnlyList<RecipeAxis> Axes { get; init; } = [];

    /// <summary>Whether this section sets <paramref name="key"/> to one value (which then holds, whatever a lower
    /// level varies).</summary>
    public bool Fixes(string key) => key switch
    {
        "epochs" => Epochs is not null,
        "batch_size" => BatchSize is not null,
        "lr" => LearningRate is not null,
        "momentum" => Momentum is not null,
        "weight_decay" => WeightDecay is not null,
        "rho" => Rho is not null,
        _ => false,
    };

    /// <summary>Reads the recipe keys of <paramref name="section"/> (which may hold other keys too), each checked against
    /// the validator's range for it. With <paramref name="axesAllowed"/>, a key of <see cref="RecipeAxes.Keys"/> may list
    /// several values: it becomes an axis of the grid (one value is a plain value).</summary>
    internal static RecipeOverride Read(YamlSection section, bool axesAllowed)
    {
        var axes = new List<RecipeAxis>();
        double? Value(NumberRule rule)
        {
            if (!section.IsList(rule.Key)) return rule.Whole ? section.WholeNumber(rule.Key, rule) : section.Number(rule.Key, rule);
            if (!axesAllowed)
            {
                section.Problems.Add(section.Node(rule.Key)!.Start,
                    $"{section.Name(rule.Key)} must be one value: lists of values (axes) go under 'recipe' or 'data.DATASET'");
                return null;
            }
            var values = section.NumberList(rule.Key, rule);
            if (values is { Count: 1 }) return values[0];
            if (values is not null) axes.Add(new RecipeAxis(rule, values));
            return null;
        }
        var scheduler = section.Section("scheduler", SchedulerKeys);
        return new RecipeOverride(
            Epochs: (int?)Value(SpecRules.Epochs),
            BatchSize: (int?)Value(SpecRules.BatchSize),
            LearningRate: Value(SpecRules.LearningRate),
            Momentum: Value(SpecRules.Momentum),
            WeightDecay: Value(SpecRules.WeightDecay),
            Rho: Value(SpecRules.Rho),
            Stem: section.Choice("stem", Vocabulary.StemNames),
            PlateauFactor: scheduler?.Number("factor", SpecRules.PlateauFactor),
            PlateauPatience: scheduler?.WholeNumber("patience", SpecRules.PlateauPatience),
            MinLearningRate: scheduler?.Number("min_lr", SpecRules.MinLearningRate))
        {
            Axes = axes,
        };
    }
}
