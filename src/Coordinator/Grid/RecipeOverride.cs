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

    /// <summary>Reads the recipe keys of <paramref name="section"/> (which may hold other keys too), checking each range.</summary>
    internal static RecipeOverride Read(YamlSection section)
    {
        var scheduler = section.Section("scheduler", SchedulerKeys);
        return new RecipeOverride(
            Epochs: section.Int("epochs", min: 1),
            BatchSize: section.Int("batch_size", min: 2), // BatchNorm needs 2 images a batch; the trial refuses 1
            LearningRate: section.Double("lr", v => v > 0, "above 0"),
            Momentum: section.Double("momentum", v => v is >= 0 and < 1, "in [0, 1)"),
            WeightDecay: section.Double("weight_decay", v => v >= 0, "at least 0"),
            Rho: section.Double("rho", v => v >= 0, "at least 0"),
            Stem: section.Choice("stem", KnownNames.Stems),
            PlateauFactor: scheduler?.Double("factor", v => v is > 0 and < 1, "in (0, 1)"),
            PlateauPatience: scheduler?.Int("patience", min: 0),
            MinLearningRate: scheduler?.Double("min_lr", v => v >= 0, "at least 0"));
    }
}
