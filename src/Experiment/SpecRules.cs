using System.Globalization;
using SamCluster.Messages;

namespace SamCluster.Experiment;

/// <summary>The range one number of a trial's recipe or data selection must lie in, under the names it goes by: its
/// grid key and its train-one flag.</summary>
/// <param name="Key">The grid key, as written under 'recipe' or 'data.DATASET' ("lr", "scheduler.factor").</param>
/// <param name="Flag">The train-one flag ("--lr"); null where train-one has none.</param>
public sealed record NumberRule(string Key, string? Flag, double Min, double Max,
    bool MinIncluded = true, bool MaxIncluded = true, bool Whole = false)
{
    public bool Allows(double value) =>
        double.IsFinite(value)
        && (!Whole || value == Math.Floor(value))
        && (MinIncluded ? value >= Min : value > Min)
        && (MaxIncluded ? value <= Max : value < Max);

    /// <summary>The bound <paramref name="value"/> breaks, completing "must be ...": "at least 1", "below 1", "at most
    /// 10000", "a whole number"; null when it is allowed.</summary>
    public string? Violation(double value)
    {
        if (!double.IsFinite(value)) return "a finite number";
        if (MinIncluded ? value < Min : value <= Min) return MinIncluded ? $"at least {Text(Min)}" : $"above {Text(Min)}";
        if (MaxIncluded ? value > Max : value >= Max) return MaxIncluded ? $"at most {Text(Max)}" : $"below {Text(Max)}";
        if (Whole && value != Math.Floor(value)) return "a whole number";
        return null;
    }

    /// <summary>"must be ..., not VALUE", or null when the value is allowed.</summary>
    public string? Problem(double value) => Violation(value) is { } bound ? $"must be {bound}, not {Text(value)}" : null;

    public static string Text(double value) => double.IsFinite(value) ? value.ToString("R", CultureInfo.InvariantCulture)
        : double.IsNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity"; // not "∞": what a user types
}

/// <summary>One thing wrong with a trial spec. <see cref="Key"/> names it as a grid does, <see cref="Flag"/> as train-one
/// does; <see cref="Problem"/> completes either ("must be above 0 and at most 10, not 20").</summary>
public sealed record SpecProblem(string Key, string? Flag, string Problem)
{
    public string InGridTerms => $"{Key} {Problem}";
    public string InFlagTerms => $"{Flag ?? Key} {Problem}";
}

/// <summary>
/// The one validator of a trial: the grid reader (per key, with line numbers, then per expanded trial), train-one and
/// every node (before training) all apply these rules, so whatever `validate` accepts a node runs, and whatever a node
/// would refuse `validate` refuses first. Only what depends on the data files themselves (folders, breeds present,
/// file contents) is left to the data loaders, and `validate --check-data` runs those.
/// </summary>
public static class SpecRules
{
    // Bounds of the data selection; the recipe's are in RecipeTable.
    public static readonly NumberRule TrainLimit = new("train_limit", "--train-limit", 0, 100_000_000, Whole: true);
    public static readonly NumberRule TestLimit = new("test_limit", "--test-limit", 0, 100_000_000, Whole: true);
    public static readonly NumberRule TestPerClass = new("test_per_class", null, 1, 100_000, Whole: true);
    public static readonly NumberRule SplitSeed = new("split_seed", null, int.MinValue, int.MaxValue, Whole: true);

    public static NumberRule ImageSize(DatasetFacts dataset) =>
        new("image_size", "--image-size", dataset.MinImageSize, dataset.MaxImageSize, Whole: true);

    /// <summary>A split above this many bytes of uint8 pixels is refused by the loaders (one tensor, int-indexed).</summary>
    public const long MaxSplitBytes = int.MaxValue;

    /// <summary>Every problem of <paramref name="spec"/>, in a stable order; empty when it can run.</summary>
    public static IReadOnlyList<SpecProblem> Check(TrialSpec spec) => [.. CheckData(spec), .. CheckTraining(spec)];

    /// <summary>The dataset and the selection of its data.</summary>
    static IEnumerable<SpecProblem> CheckData(TrialSpec spec)
    {
        var problems = new List<SpecProblem>();
        var key = spec.Key;
        var dataset = Vocabulary.FindDataset(key.Dataset);
        if (dataset is null)
            problems.Add(new("dataset", "--dataset", $"'{key.Dataset}' is unknown (expected {string.Join(" or ", Vocabulary.DatasetNames)})"));
        else if (spec.Data.Dataset != key.Dataset)
            problems.Add(new("dataset", "--dataset", $"of the data ({spec.Data.Dataset}) differs from the trial's ({key.Dataset})"));
        else CheckData(dataset, spec.Data, problems);
        return problems;
    }

    /// <summary>What training itself uses: the model, the optimizer and the recipe (all a caller that brings its own
    /// tensors needs checked, whatever the spec's data says).</summary>
    public static IReadOnlyList<SpecProblem> CheckTraining(TrialSpec spec)
    {
        var problems = new List<SpecProblem>();
        var key = spec.Key;
        if (Vocabulary.FindModel(key.Model) is null)
            problems.Add(new("model", "--model", $"'{key.Model}' is unknown (expected {string.Join(" or ", Vocabulary.ModelNames)})"));
        if (Vocabulary.FindOptimizer(key.Optimizer) is null)
            problems.Add(new("optimizer", "--optimizer", $"'{key.Optimizer}' is unknown (expected {string.Join(", ", Vocabulary.OptimizerNames)})"));
        if (key.Repeat < 0)
            problems.Add(new("repeat", "--repeat", $"must be 0 or more, not {key.Repeat}"));
        problems.AddRange(RecipeTable.Problems(spec.Recipe));
        // With momentum 0 SGD keeps no momentum, and Momentum-SAM would have no direction to perturb along.
        if (key.Optimizer == Vocabulary.MsamName && spec.Recipe.Momentum == 0)
            problems.Add(new(RecipeTable.Momentum.Key, RecipeTable.Momentum.Flag, "must be above 0 for msam (Momentum-SAM perturbs along the momentum), not 0"));
        return problems;
    }

    /// <summary>Throws a <see cref="UserInputException"/> naming the first problem (as train-one's flags name it when
    /// <paramref name="inFlagTerms"/>, else as a grid's keys do).</summary>
    public static void Validate(TrialSpec spec, bool inFlagTerms = false) => Throw(Check(spec), inFlagTerms);

    /// <summary>As <see cref="Validate"/>, for <see cref="CheckTraining"/>.</summary>
    public static void ValidateTraining(TrialSpec spec) => Throw(CheckTraining(spec), inFlagTerms: false);

    static void Throw(IReadOnlyList<SpecProblem> problems, bool inFlagTerms)
    {
        if (problems.Count == 0) return;
        var first = inFlagTerms ? problems[0].InFlagTerms : problems[0].InGridTerms;
        throw new UserInputException(problems.Count == 1 ? first : $"{first} (and {problems.Count - 1} more)");
    }

    static void CheckData(DatasetFacts dataset, DataSpec data, List<SpecProblem> problems)
    {
        var classes = data.Classes.Count == 0 ? dataset.DefaultClasses : data.Classes;
        if (ClassesProblem(dataset, classes) is { } classProblem)
            problems.Add(new("classes", "--classes", classProblem));
        Number(ImageSize(dataset), data.ImageSize, problems);
        Number(TrainLimit, data.TrainLimit, problems);
        Number(TestLimit, data.TestLimit, problems);
        foreach (var (rule, limit) in new[] { (TrainLimit, data.TrainLimit), (TestLimit, data.TestLimit) })
            if (LimitProblem(limit, classes.Count) is { } limitProblem)
                problems.Add(new(rule.Key, rule.Flag, limitProblem));
        Number(TestPerClass, data.TestPerClass, problems);
        if (dataset.IsFolderOfImages && string.IsNullOrWhiteSpace(data.Root))
            problems.Add(new("path", "--data", $"of {dataset.Name} must be given (its Images/ folder; it has no default location)"));
        if (data.Root.Any(char.IsControl))
            problems.Add(new("path", "--data", "holds a control character"));
        if (SplitBytesProblem(dataset, data, classes.Count) is { } sizeProblem)
            problems.Add(new("image_size", "--image-size", sizeProblem));
    }

    /// <summary>Two or more distinct classes the dataset can have; null when they are fine.</summary>
    public static string? ClassesProblem(DatasetFacts dataset, IReadOnlyList<string> classes)
    {
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var given in classes)
        {
            string canonical;
            if (dataset.IsFolderOfImages)
            {
                if (Vocabulary.DogBreedProblem(given) is { } breedProblem) return $"has a bad class: {breedProblem}";
                canonical = given.Trim();
            }
            else
            {
                if (Vocabulary.FashionMnistClass(given, out var classProblem) is not { } index) return $"has a bad class: {classProblem}";
                canonical = index.ToString(CultureInfo.InvariantCulture);
            }
            if (!seen.Add(canonical)) return $"lists class '{given}' twice";
        }
        return classes.Count < 2 ? $"needs at least 2 classes to classify, not {classes.Count}" : null;
    }

    /// <summary>An image limit is 0 (all) or enough to take at least one image of each class.</summary>
    public static string? LimitProblem(int limit, int classCount) =>
        limit > 0 && limit < classCount ? $"must be 0 (all) or at least the number of classes ({classCount}), not {limit}" : null;

    /// <summary>A resizable dataset's train split estimated from its facts must fit one tensor; the loader checks the exact
    /// count, this catches the certain cases (every breed at 2048 pixels) before any node tries.</summary>
    static string? SplitBytesProblem(DatasetFacts dataset, DataSpec data, int classCount)
    {
        if (dataset.ImageSizeIsFixed || !ImageSize(dataset).Allows(data.ImageSize)) return null;
        var images = dataset.EstimatedTrainImages(data);
        var bytes = images * 3 * (double)data.ImageSize * data.ImageSize;
        return bytes > MaxSplitBytes
            ? $"{data.ImageSize} makes the train split of {classCount} classes about {bytes / (1 << 30):F0} GiB (over 2 GiB); use fewer classes, a train_limit or a smaller image size"
            : null;
    }

    static void Number(NumberRule rule, double value, List<SpecProblem> problems)
    {
        if (rule.Problem(value) is { } problem) problems.Add(new(rule.Key, rule.Flag, problem));
    }
}
