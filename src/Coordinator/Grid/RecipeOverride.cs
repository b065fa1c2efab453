using SamCluster.Messages;

namespace SamCluster.Coordinator.Grid;

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

    /// <summary>Reads the recipe keys of <paramref name="section"/> (which may hold other keys too), each checked against
    /// the validator's range for it.</summary>
    internal static RecipeOverride Read(YamlSection section)
    {
        var scheduler = section.Section("scheduler", SchedulerKeys);
        return new RecipeOverride(
            Epochs: section.WholeNumber("epochs", SpecRules.Epochs),
            BatchSize: section.WholeNumber("batch_size", SpecRules.BatchSize),
            LearningRate: section.Number("lr", SpecRules.LearningRate),
            Momentum: section.Number("momentum", SpecRules.Momentum),
            WeightDecay: section.Number("weight_decay", SpecRules.WeightDecay),
            Rho: section.Number("rho", SpecRules.Rho),
            Stem: section.Choice("stem", Vocabulary.StemNames),
            PlateauFactor: scheduler?.Number("factor", SpecRules.PlateauFactor),
            PlateauPatience: scheduler?.WholeNumber("patience", SpecRules.PlateauPatience),
            MinLearningRate: scheduler?.Number("min_lr", SpecRules.MinLearningRate));
    }
}
