using System.Globalization;
using System.Numerics;
using SamCluster.Messages;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace SamCluster.Experiment.Grid;

/// <summary>Turns the top-level mapping of a grid file into a <see cref="GridConfig"/>, reporting every problem with its line.</summary>
sealed class GridReader(GridProblems problems, string baseDirectory)
{
    static readonly IReadOnlyList<string> TopLevelKeys =
        ["seed", "datasets", "models", "optimizers", "repeats", "recipe", "data", "optimizer_overrides", "checkpoint_every", "pack", "sequential"];

    static readonly IReadOnlyList<string> DataOnlyKeys =
        ["path", "classes", "train_limit", "test_limit", "image_size", "test_per_class", "split_seed", "cache_dir"];

    // Far beyond any study, low enough that a typo (500000) is caught before it expands into millions of trials.
    const int MaxRepeats = GridConfig.MaxRepeats;

    static readonly IReadOnlyList<string> DogsOnlyKeys = ["image_size", "test_per_class", "split_seed"];

    static readonly IReadOnlyList<string> DataKeys = [.. DataOnlyKeys, .. RecipeTable.GridNames];

    public GridConfig? Read(YamlMappingNode root)
    {
        var top = new YamlSection(root, path: null, TopLevelKeys, problems);
        foreach (var required in new[] { "datasets", "models", "optimizers", "repeats" })
            if (!top.Has(required))
                problems.Add(root.Start, $"missing key '{required}' (a grid needs datasets, models, optimizers and repeats)");

        var seed = top.Long("seed") ?? 0;
        var datasets = Names(top, "datasets", "dataset", Vocabulary.DatasetNames);
        var models = Names(top, "models", "model", Vocabulary.ModelNames);
        var optimizers = Names(top, "optimizers", "optimizer", Vocabulary.OptimizerNames);
        var repeats = top.Int("repeats", min: 1, max: MaxRepeats);
        var checkpointEvery = top.Int("checkpoint_every", min: 0, max: 1_000_000) ?? GridConfig.DefaultCheckpointEvery;
        var pack = top.Int("pack", min: 1, max: GridConfig.MaxPack) ?? GridConfig.DefaultPack;
        var recipe = top.Section("recipe", RecipeTable.GridNames) is { } recipeSection
            ? RecipeOverride.Read(recipeSection, axesAllowed: true)
            : new RecipeOverride();
        var optimizerOverrides = OptimizerOverrides(top);
        var sequential = top.Section("sequential", SequentialPlan.Keys) is { } sequentialSection
            ? Sequential(sequentialSection, repeats, top.Node("repeats"))
            : null;

        var data = top.Section("data", Vocabulary.DatasetNames);
        var plans = new List<DatasetPlan>();
        foreach (var (name, listedAt) in datasets)
        {
            if (DatasetPlan(name, listedAt, data, recipe, optimizers.Select(o => o.Name), optimizerOverrides) is { } plan)
                plans.Add(plan);
        }
        // Sections of datasets the grid does not run are still checked: a typo there is a typo all the same.
        if (data is not null)
            foreach (var name in Vocabulary.DatasetNames.Where(n => datasets.All(d => d.Name != n) && data.Has(n)))
                DatasetPlan(name, listedAt: null, data, recipe, [], optimizerOverrides);

        if (problems.Any || repeats is null) return null;
        // Refused from the list sizes, before a single cell is made: checking or expanding millions of trials would
        // run out of memory long before saying anything.
        var trialCount = GridConfig.CountTrials(plans, models.Count, optimizers.Select(o => o.Name), repeats.Value);
        if (trialCount > GridConfig.MaxTrials)
        {
            problems.Add(root.Start, string.Create(CultureInfo.InvariantCulture,
                $"the grid expands to {trialCount:N0} trials ({Product(plans, models.Count, optimizers.Select(o => o.Name).ToList(), repeats.Value)}); " +
                $"a grid may have at most {GridConfig.MaxTrials:N0} — shorten its lists or repeats, or split it into several runs"));
            return null;
        }
        // Every value was checked where it was written; what is left are rules over several values (a limit below the
        // class count, a split too large for its image size) and anything a node would refuse: one validator decides.
        foreach (var plan in plans)
            CheckTrials(plan, datasets.First(d => d.Name == plan.Data.Dataset).Node, models.Select(m => m.Name));
        if (problems.Any) return null;
        return new GridConfig(problems.File, seed, datasets.Select(d => d.Name).ToList().AsReadOnly(),
            models.Select(m => m.Name).ToList().AsReadOnly(), optimizers.Select(o => o.Name).ToList().AsReadOnly(),
            repeats.Value, plans.AsReadOnly(), checkpointEvery) { Sequential = sequential, Pack = pack };
    }

    static readonly NumberRule LookRule = new("sequential.looks", null, SequentialPlan.MinLook, MaxRepeats, Whole: true);
    static readonly NumberRule AlphaRule = new("sequential.alpha", null, 0, SequentialPlan.MaxAlpha, MinIncluded: false, MaxIncluded: false);
    static readonly NumberRule MarginRule = new("sequential.margin_pp", null, -SequentialPlan.MarginLimitPp, SequentialPlan.MarginLimitPp);

    /// <summary>The `sequential` key: looks (increasing, each ≥ 2, the last = repeats), alpha in (0, 0.5), spending,
    /// optional margin_pp and test. Every problem is reported at its line.</summary>
    SequentialPlan? Sequential(YamlSection section, int? repeats, YamlNode? repeatsNode)
    {
        var before = problems.Count;
        if (!section.Has("looks")) problems.Add(section.Start, "'sequential' needs 'looks': repeats per arm at each look, e.g. [5, 10, 20, 30]");
        if (!section.Has("alpha")) problems.Add(section.Start, "'sequential' needs 'alpha': the one-sided error per comparison, e.g. 0.05");
        if (!section.Has("spending")) problems.Add(section.Start, $"'sequential' needs 'spending': {string.Join(" or ", SequentialPlan.SpendingNames)}");
        IReadOnlyList<double>? looks = null;
        if (section.Has("looks"))
        {
            if (!section.IsList("looks"))
                problems.Add(section.Node("looks")!.Start, "'sequential.looks' must be a list of repeats per arm, e.g. [5, 10, 20, 30]");
            else
                looks = section.NumberList("looks", LookRule);
        }
        var looksNode = section.Node("looks") as YamlSequenceNode;
        if (looks is not null)
        {
            for (var i = 1; i < looks.Count; i++)
                if (looks[i] <= looks[i - 1])
                    problems.Add(looksNode!.Children[i].Start, $"'sequential.looks' must increase: {looks[i]} comes after {looks[i - 1]}");
            if (looks.Count > SequentialPlan.MaxLooks)
                problems.Add(looksNode!.Start, $"'sequential.looks' must have at most {SequentialPlan.MaxLooks} looks, not {looks.Count}");
            if (repeats is { } r && looks[^1] != r)
                problems.Add(looksNode!.Children[^1].Start,
                    $"the last look of 'sequential.looks' ({looks[^1]}) must equal 'repeats' ({r}{(repeatsNode is null ? "" : $", line {repeatsNode.Start.Line}")})");
        }
        var alpha = section.Number("alpha", AlphaRule);
        var spending = section.Choice("spending", SequentialPlan.SpendingNames);
        var margin = section.Has("margin_pp") ? section.Number("margin_pp", MarginRule) : null;
        var test = section.Has("test") ? section.Choice("test", SequentialPlan.TestNames) : SequentialPlan.Welch;
        if (problems.Count > before || looks is null || alpha is null || spending is null || test is null) return null;
        return new SequentialPlan(looks.Select(l => (int)l).ToList().AsReadOnly(), alpha.Value, spending, margin, test);
    }

    /// <summary>How the count came about, e.g. "1 dataset × 1 model × (sgd: 2,000 cells + sam: 4,000,000 cells) ×
    /// 1,000 repeats"; the datasets' cells each in turn when their axes differ.</summary>
    static string Product(IReadOnlyList<DatasetPlan> plans, int models, IReadOnlyList<string> optimizers, int repeats)
    {
        static string Plural(BigInteger n, string what) => string.Create(CultureInfo.InvariantCulture, $"{n:N0} {what}{(n == 1 ? "" : "s")}");
        string Cells(DatasetPlan plan) => string.Join(" + ", optimizers.Select(o => $"{o}: {Plural(plan.CellCount(o), "cell")}"));
        var sameCells = plans.Select(Cells).Distinct().Count() == 1;
        var cells = sameCells
            ? $"{Plural(plans.Count, "dataset")} × {Plural(models, "model")} × ({Cells(plans[0])})"
            : $"{Plural(models, "model")} × ({string.Join(" + ", plans.Select(p => $"{p.Data.Dataset}: {Cells(p)}"))})";
        return $"{cells} × {Plural(repeats, "repeat")}";
    }

    /// <summary>A list of known names without repeats; each name kept with its node (for later messages).</summary>
    List<(string Name, YamlScalarNode Node)> Names(YamlSection top, string key, string what, IReadOnlyCollection<string> known)
    {
        var names = new List<(string, YamlScalarNode)>();
        foreach (var item in top.ScalarList(key, $"{what} name") ?? [])
        {
            var name = item.Value!;
            if (!known.Contains(name))
                problems.Add(item.Start, $"unknown {what} '{name}' in '{key}'{Suggestions.Hint(name, known)}");
            else if (names.Any(n => n.Item1 == name))
                problems.Add(item.Start, $"{what} '{name}' is listed twice in '{key}'");
            else
                names.Add((name, item));
        }
        return names;
    }

    Dictionary<string, RecipeOverride> OptimizerOverrides(YamlSection top)
    {
        var overrides = new Dictionary<string, RecipeOverride>();
        if (top.Section("optimizer_overrides", Vocabulary.OptimizerNames) is not { } section) return overrides;
        foreach (var optimizer in Vocabulary.OptimizerNames)
            if (section.Section(optimizer, RecipeTable.GridNames) is { } optimizerSection)
                overrides[optimizer] = RecipeOverride.Read(optimizerSection, axesAllowed: false);
        return overrides;
    }

    /// <param name="listedAt">The dataset's item in 'datasets'; null for a 'data' entry of a dataset the grid does not run.</param>
    DatasetPlan? DatasetPlan(string name, YamlNode? listedAt, YamlSection? data, RecipeOverride recipe,
        IEnumerable<string> optimizers, IReadOnlyDictionary<string, RecipeOverride> optimizerOverrides)
    {
        var facts = Vocabulary.Dataset(name);
        var section = data?.Section(name, DataKeys);
        var isDogs = facts.IsFolderOfImages;
        if (section is not null && !isDogs)
            foreach (var key in DogsOnlyKeys.Where(section.Has))
                problems.Add(section.KeyNode(key)!.Start,
                    $"{section.Name(key)} applies only to {Vocabulary.StanfordDogs.Name} ({name} images are {facts.DefaultImageSize}x{facts.DefaultImageSize})");

        var (root, origin) = DataRoot(name, facts, section, listedAt);
        var classes = Classes(facts, section) ?? facts.DefaultClasses;
        var spec = new DataSpec(
            Dataset: name,
            Root: root ?? "",
            Classes: classes.ToArray(),   // a plain array: TrialSpec travels between nodes, keep it simple to serialize
            TrainLimit: Limit(section, SpecRules.TrainLimit, classes.Count),
            TestLimit: Limit(section, SpecRules.TestLimit, classes.Count),
            ImageSize: (isDogs ? section?.WholeNumber("image_size", SpecRules.ImageSize(facts)) : null) ?? facts.DefaultImageSize,
            TestPerClass: (isDogs ? section?.WholeNumber("test_per_class", SpecRules.TestPerClass) : null) ?? 36,
            SplitSeed: (isDogs ? section?.WholeNumber("split_seed", SpecRules.SplitSeed) : null) ?? 0,
            CacheDir: section?.Text("cache_dir") is { } cache ? ResolvePath(cache) : null);

        var datasetRecipe = section is null ? new RecipeOverride() : RecipeOverride.Read(section, axesAllowed: true);
        // The dataset's own value or list of a key replaces the grid-wide one, as a plain value does.
        var axes = recipe.Axes.Where(a => !datasetRecipe.Fixes(a.Key) && datasetRecipe.Axes.All(d => d.Key != a.Key))
            .Concat(datasetRecipe.Axes).ToList();
        var recipes = new Dictionary<string, Recipe>();
        var axesByOptimizer = new Dictionary<string, IReadOnlyList<RecipeAxis>>();
        foreach (var optimizer in optimizers)
        {
            var merged = datasetRecipe.ApplyTo(recipe.ApplyTo(RecipeTable.Defaults(facts.DefaultEpochs, optimizer)));
            optimizerOverrides.TryGetValue(optimizer, out var byOptimizer);
            if (byOptimizer is not null) merged = byOptimizer.ApplyTo(merged);
            var optimizerFacts = Vocabulary.Optimizer(optimizer);
            recipes[optimizer] = merged with { Adaptive = optimizerFacts.Adaptive };
            // An optimizer's own value of a key holds for all its trials; SGD does not vary SAM's keys.
            axesByOptimizer[optimizer] = axes.Where(a => a.AppliesTo(optimizerFacts) && byOptimizer?.Fixes(a.Key) != true).ToList();
        }
        return root is null ? null : new DatasetPlan(spec, origin, recipes) { AxesByOptimizer = axesByOptimizer };
    }

    /// <summary>An image limit, 0 (all) or enough to take at least one image of each class.</summary>
    int Limit(YamlSection? section, NumberRule rule, int classCount)
    {
        var limit = section?.WholeNumber(rule.Key, rule) ?? 0;
        if (SpecRules.LimitProblem(limit, classCount) is { } problem)
        {
            problems.Add(section!.Node(rule.Key)!.Start, $"{section.Name(rule.Key)} {problem}");
            return 0;
        }
        return limit;
    }

    /// <summary>Every trial of the plan through the validator, each problem once, at the dataset's entry.</summary>
    void CheckTrials(DatasetPlan plan, YamlNode datasetItem, IEnumerable<string> models)
    {
        var reported = new HashSet<string>();
        foreach (var model in models)
        foreach (var optimizer in plan.RecipeByOptimizer.Keys)
        foreach (var (_, recipe) in plan.Cells(optimizer))
        {
            var spec = new TrialSpec(new TrialKey(plan.Data.Dataset, model, optimizer, 0), 0, plan.Data, recipe);
            foreach (var problem in SpecRules.Check(spec))
                if (reported.Add(problem.InGridTerms))
                    problems.Add(datasetItem.Start, $"{plan.Data.Dataset}: {problem.InGridTerms}");
        }
    }

    (string? Root, string Origin) DataRoot(string name, DatasetFacts facts, YamlSection? section, YamlNode? listedAt)
    {
        if (section?.Node("path") is { } pathNode)
            return section.Text("path") is { } path ? (ResolvePath(path), $"{problems.File}:{pathNode.Start.Line}:{pathNode.Start.Column}") : (null, "");
        if (facts.DefaultRoot is not null) return (facts.DefaultRoot, "built-in default");
        if (listedAt is null) return (null, "");
        problems.Add(section?.Start ?? listedAt.Start,
            $"dataset '{name}' has no data folder and no default one: set 'data.{name}.path' (its Images/ folder)");
        return (null, "");
    }

    List<string>? Classes(DatasetFacts facts, YamlSection? section)
    {
        if (section?.ScalarList("classes", "class") is not { } items) return null;
        var classes = new List<string>();
        foreach (var item in items)
        {
            var canonical = Class(facts, item, section);
            if (canonical is null) continue;
            if (classes.Contains(canonical)) problems.Add(item.Start, $"class '{item.Value}' is listed twice in {section.Name("classes")}");
            else classes.Add(canonical);
        }
        if (items.Count == 1) problems.Add(section.Node("classes")!.Start, $"{section.Name("classes")} needs at least 2 classes to classify");
        return classes;
    }

    /// <summary>A Fashion-MNIST class as its index, or a Stanford Dogs breed as written (the loader matches it against the
    /// folders, so only what can never match is refused here). The rules are the validator's (Vocabulary); the grid
    /// words them with where the class is written and the closest name.</summary>
    string? Class(DatasetFacts facts, YamlScalarNode item, YamlSection section)
    {
        var where = section.Name("classes");
        if (facts.IsFolderOfImages)
        {
            if (Vocabulary.DogBreedProblem(item.Value!) is null) return item.Value!.Trim();
            problems.Add(item.Start, $"'{item.Value}' in {where} is not a breed: use a folder name "
                + "(n02085620-Chihuahua), a breed name (Chihuahua) or a synset (n02085620)");
            return null;
        }
        if (Vocabulary.FashionMnistClass(item.Value!, out _) is { } index) return index.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var names = Vocabulary.FashionMnistClassNames;
        problems.Add(item.Start, YamlSection.TryParseInteger(item.Value!, out _)
            ? $"Fashion-MNIST class {item.Value} in {where} is out of range (0-9)"
            : $"unknown Fashion-MNIST class '{item.Value}' in {where}{YamlSection.DidYouMean(item.Value!, names)} (use 0-9 or one of: {string.Join(", ", names)})");
        return null;
    }

    /// <summary>Relative paths are taken from the grid file's folder, '~' from the home folder.</summary>
    string ResolvePath(string path)
    {
        path = path.Trim();
        if (path == "~" || path.StartsWith("~/", StringComparison.Ordinal))
            path = Path.Join(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), path[1..].TrimStart('/'));
        return Path.GetFullPath(path, baseDirectory);
    }
}
