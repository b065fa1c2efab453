using SamCluster.Messages;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace SamCluster.Coordinator.Grid;

/// <summary>Turns the top-level mapping of a grid file into a <see cref="GridConfig"/>, reporting every problem with its line.</summary>
sealed class GridReader(GridProblems problems, string baseDirectory)
{
    static readonly IReadOnlyList<string> TopLevelKeys =
        ["seed", "datasets", "models", "optimizers", "repeats", "recipe", "data", "optimizer_overrides", "checkpoint_every"];

    static readonly IReadOnlyList<string> DataOnlyKeys =
        ["path", "classes", "train_limit", "test_limit", "image_size", "test_per_class", "split_seed", "cache_dir"];

    // Far beyond any study, low enough that a typo (500000) is caught before it expands into millions of trials.
    const int MaxRepeats = 1000;

    static readonly IReadOnlyList<string> DogsOnlyKeys = ["image_size", "test_per_class", "split_seed"];

    static readonly IReadOnlyList<string> DataKeys = [.. DataOnlyKeys, .. RecipeOverride.Keys];

    public GridConfig? Read(YamlMappingNode root)
    {
        var top = new YamlSection(root, path: null, TopLevelKeys, problems);
        foreach (var required in new[] { "datasets", "models", "optimizers", "repeats" })
            if (!top.Has(required))
                problems.Add(root.Start, $"missing key '{required}' (a grid needs datasets, models, optimizers and repeats)");

        var seed = top.Long("seed") ?? 0;
        var datasets = Names(top, "datasets", "dataset", KnownNames.Datasets.Keys.ToList());
        var models = Names(top, "models", "model", KnownNames.Models);
        var optimizers = Names(top, "optimizers", "optimizer", KnownNames.Optimizers);
        var repeats = top.Int("repeats", min: 1, max: MaxRepeats);
        var checkpointEvery = top.Int("checkpoint_every", min: 0, max: 1_000_000) ?? GridConfig.DefaultCheckpointEvery;
        var recipe = top.Section("recipe", RecipeOverride.Keys) is { } recipeSection
            ? RecipeOverride.Read(recipeSection)
            : new RecipeOverride();
        var optimizerOverrides = OptimizerOverrides(top);

        var data = top.Section("data", KnownNames.Datasets.Keys.ToList());
        var plans = new List<DatasetPlan>();
        foreach (var (name, listedAt) in datasets)
        {
            if (DatasetPlan(name, listedAt, data, recipe, optimizers.Select(o => o.Name), optimizerOverrides) is { } plan)
                plans.Add(plan);
        }
        // Sections of datasets the grid does not run are still checked: a typo there is a typo all the same.
        if (data is not null)
            foreach (var name in KnownNames.Datasets.Keys.Where(n => datasets.All(d => d.Name != n) && data.Has(n)))
                DatasetPlan(name, listedAt: null, data, recipe, [], optimizerOverrides);

        if (problems.Any || repeats is null) return null;
        return new GridConfig(problems.File, seed, datasets.Select(d => d.Name).ToList().AsReadOnly(),
            models.Select(m => m.Name).ToList().AsReadOnly(), optimizers.Select(o => o.Name).ToList().AsReadOnly(),
            repeats.Value, plans.AsReadOnly(), checkpointEvery);
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
        if (top.Section("optimizer_overrides", KnownNames.Optimizers) is not { } section) return overrides;
        foreach (var optimizer in KnownNames.Optimizers)
            if (section.Section(optimizer, RecipeOverride.Keys) is { } optimizerSection)
                overrides[optimizer] = RecipeOverride.Read(optimizerSection);
        return overrides;
    }

    /// <param name="listedAt">The dataset's item in 'datasets'; null for a 'data' entry of a dataset the grid does not run.</param>
    DatasetPlan? DatasetPlan(string name, YamlNode? listedAt, YamlSection? data, RecipeOverride recipe,
        IEnumerable<string> optimizers, IReadOnlyDictionary<string, RecipeOverride> optimizerOverrides)
    {
        var facts = KnownNames.Datasets[name];
        var section = data?.Section(name, DataKeys);
        var isDogs = name == KnownNames.StanfordDogs;
        if (section is not null && !isDogs)
            foreach (var key in DogsOnlyKeys.Where(section.Has))
                problems.Add(section.KeyNode(key)!.Start,
                    $"{section.Name(key)} applies only to {KnownNames.StanfordDogs} ({name} images are {facts.DefaultImageSize}x{facts.DefaultImageSize})");

        var (root, origin) = DataRoot(name, facts, section, listedAt);
        var classes = Classes(facts, section) ?? facts.DefaultClasses;
        var spec = new DataSpec(
            Dataset: name,
            Root: root ?? "",
            Classes: classes.ToArray(),   // a plain array: TrialSpec travels between nodes, keep it simple to serialize
            TrainLimit: Limit(section, "train_limit", classes.Count),
            TestLimit: Limit(section, "test_limit", classes.Count),
            ImageSize: (isDogs ? section?.Int("image_size", min: 1) : null) ?? facts.DefaultImageSize,
            TestPerClass: (isDogs ? section?.Int("test_per_class", min: 1) : null) ?? 36,
            SplitSeed: (isDogs ? section?.Int("split_seed", min: int.MinValue) : null) ?? 0,
            CacheDir: section?.Text("cache_dir") is { } cache ? ResolvePath(cache) : null);

        var datasetRecipe = section is null ? new RecipeOverride() : RecipeOverride.Read(section);
        var recipes = new Dictionary<string, Recipe>();
        foreach (var optimizer in optimizers)
        {
            var merged = datasetRecipe.ApplyTo(recipe.ApplyTo(new Recipe(Epochs: facts.DefaultEpochs)));
            if (optimizerOverrides.TryGetValue(optimizer, out var byOptimizer)) merged = byOptimizer.ApplyTo(merged);
            recipes[optimizer] = merged with { Adaptive = optimizer == KnownNames.Asam };
        }
        return root is null ? null : new DatasetPlan(spec, origin, recipes);
    }

    /// <summary>An image limit, 0 (all) or enough to take at least one image of each class.</summary>
    int Limit(YamlSection? section, string key, int classCount)
    {
        var limit = section?.Int(key, min: 0) ?? 0;
        if (limit > 0 && limit < classCount)
        {
            problems.Add(section!.Node(key)!.Start,
                $"{section.Name(key)} must be 0 (all) or at least the number of classes ({classCount}), not {limit}");
            return 0;
        }
        return limit;
    }

    (string? Root, string Origin) DataRoot(string name, DatasetFacts facts, YamlSection? section, YamlNode? listedAt)
    {
        if (section?.Node("path") is { } pathNode)
            return section.Text("path") is { } path ? (ResolvePath(path), $"{problems.File}:{pathNode.Start.Line}:{pathNode.Start.Column}") : (null, "");
        if (facts.DefaultPath is not null) return (facts.DefaultPath, "built-in default");
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
            var canonical = facts.IsFolderOfImages ? DogBreed(item, section) : FashionClass(item, section);
            if (canonical is null) continue;
            if (classes.Contains(canonical)) problems.Add(item.Start, $"class '{item.Value}' is listed twice in {section.Name("classes")}");
            else classes.Add(canonical);
        }
        if (items.Count == 1) problems.Add(section.Node("classes")!.Start, $"{section.Name("classes")} needs at least 2 classes to classify");
        return classes;
    }

    /// <summary>A Fashion-MNIST class by index (0-9) or label name, as its index.</summary>
    string? FashionClass(YamlScalarNode item, YamlSection section)
    {
        var names = KnownNames.FashionMnistClassNames;
        if (YamlSection.TryParseInteger(item.Value!, out var index))
        {
            if (index >= 0 && index < names.Count) return index.ToString();
            problems.Add(item.Start, $"Fashion-MNIST class {item.Value} in {section.Name("classes")} is out of range (0-9)");
            return null;
        }
        var byName = names.ToList().FindIndex(n => string.Equals(n, item.Value, StringComparison.OrdinalIgnoreCase));
        if (byName >= 0) return byName.ToString();
        problems.Add(item.Start, $"unknown Fashion-MNIST class '{item.Value}' in {section.Name("classes")}"
            + $"{YamlSection.DidYouMean(item.Value!, names)} (use 0-9 or one of: {string.Join(", ", names)})");
        return null;
    }

    /// <summary>A Stanford Dogs breed: a folder name (n02085620-Chihuahua), a breed name or a synset; the data loader
    /// matches it against the folders, so only what can never match is refused here.</summary>
    string? DogBreed(YamlScalarNode item, YamlSection section)
    {
        var breed = item.Value!.Trim();
        if (breed.All(char.IsAsciiDigit) || breed.IndexOfAny(['/', '\\']) >= 0)
        {
            problems.Add(item.Start, $"'{item.Value}' in {section.Name("classes")} is not a breed: use a folder name "
                + "(n02085620-Chihuahua), a breed name (Chihuahua) or a synset (n02085620)");
            return null;
        }
        return breed;
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
