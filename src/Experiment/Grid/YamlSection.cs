using System.Globalization;
using SamCluster.Messages;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace SamCluster.Experiment.Grid;

/// <summary>One mapping of the grid file (the top level, 'recipe', 'data.stanford-dogs', ...) read with its keys checked
/// and every value typed. A bad value is reported to <see cref="GridProblems"/> with its line and read as absent, so
/// reading goes on and all problems are found in one pass.</summary>
sealed class YamlSection
{
    readonly Dictionary<string, (YamlScalarNode Key, YamlNode Value)> _entries = new(StringComparer.Ordinal);

    public GridProblems Problems { get; }
    public string? Path { get; }
    public Mark Start { get; }

    /// <param name="path">Dotted path of this mapping for messages ("recipe.scheduler"), null at the top level.</param>
    public YamlSection(YamlMappingNode mapping, string? path, IReadOnlyCollection<string> knownKeys, GridProblems problems)
    {
        Problems = problems;
        Path = path;
        Start = mapping.Start;
        foreach (var (keyNode, value) in mapping.Children)
        {
            if (keyNode is not YamlScalarNode { Value: { Length: > 0 } key } scalarKey)
            {
                problems.Add(keyNode.Start, $"keys {Where} must be plain names, not {Describe(keyNode)}");
                continue;
            }
            if (!knownKeys.Contains(key))
            {
                problems.Add(keyNode.Start, $"unknown key '{key}' {Where}{Suggestions.Hint(key, knownKeys)}");
                continue;
            }
            _entries[key] = (scalarKey, value);
        }
    }

    string Where => Path is null ? "at the top level" : $"in '{Path}'";

    public string Name(string key) => Path is null ? $"'{key}'" : $"'{Path}.{key}'";

    public bool Has(string key) => _entries.ContainsKey(key);

    public YamlNode? Node(string key) => _entries.TryGetValue(key, out var entry) ? entry.Value : null;

    public YamlScalarNode? KeyNode(string key) => _entries.TryGetValue(key, out var entry) ? entry.Key : null;

    /// <summary>The value of <paramref name="key"/> as a mapping, or null (absent or reported as not a mapping).</summary>
    public YamlMappingNode? Mapping(string key)
    {
        var node = Node(key);
        if (node is null or YamlMappingNode) return node as YamlMappingNode;
        Problems.Add(node.Start, $"{Name(key)} must be a mapping (key: value lines or {{key: value}}), not {Describe(node)}");
        return null;
    }

    public YamlSection? Section(string key, IReadOnlyCollection<string> knownKeys) =>
        Mapping(key) is { } mapping ? new YamlSection(mapping, Path is null ? key : $"{Path}.{key}", knownKeys, Problems) : null;

    /// <summary>A list of plain values; a single plain value is taken as a list of one.</summary>
    /// <param name="itemWhat">What an item is, for messages: "dataset name".</param>
    public IReadOnlyList<YamlScalarNode>? ScalarList(string key, string itemWhat)
    {
        var node = Present(key);
        switch (node)
        {
            case null:
                return null;
            case YamlScalarNode scalar:
                return [scalar];
            case YamlSequenceNode sequence:
                var items = new List<YamlScalarNode>();
                foreach (var item in sequence.Children)
                {
                    if (item is YamlScalarNode itemScalar && !IsNull(itemScalar)) items.Add(itemScalar);
                    else Problems.Add(item.Start, $"each item of {Name(key)} must be a {itemWhat}, not {Describe(item)}");
                }
                if (sequence.Children.Count == 0) Problems.Add(node.Start, $"{Name(key)} is empty: list at least one {itemWhat}");
                return items;
            default:
                Problems.Add(node.Start, $"{Name(key)} must be a list of {itemWhat}s, not {Describe(node)}");
                return null;
        }
    }

    public string? Text(string key)
    {
        if (Scalar(key, "a text") is not { } scalar) return null;
        if (scalar.Value!.Trim().Length > 0) return scalar.Value;
        Problems.Add(scalar.Start, $"{Name(key)} is empty");
        return null;
    }

    public long? Long(string key, long min = long.MinValue)
    {
        if (Scalar(key, "a whole number") is not { } scalar) return null;
        if (NotQuoted(key, scalar, "a whole number") && TryParseInteger(scalar.Value!, out var value))
        {
            if (value >= min) return value;
            Problems.Add(scalar.Start, $"{Name(key)} must be at least {min}, not {scalar.Value}");
            return null;
        }
        if (scalar.Style == ScalarStyle.Plain) Problems.Add(scalar.Start, $"{Name(key)} must be a whole number, not '{scalar.Value}'");
        return null;
    }

    public int? Int(string key, int min, int max = int.MaxValue)
    {
        var value = Long(key, min);
        if (value is null) return null;
        if (value <= max) return (int)value;
        Problems.Add(Node(key)!.Start, $"{Name(key)} must be at most {max}, not {value}");
        return null;
    }

    /// <summary>A finite number within <paramref name="rule"/> (the validator's range for it, see SpecRules).</summary>
    public double? Number(string key, NumberRule rule)
    {
        if (Scalar(key, "a number") is not { } scalar) return null;
        if (!NotQuoted(key, scalar, "a number")) return null;
        if (!double.TryParse(scalar.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
        {
            Problems.Add(scalar.Start, $"{Name(key)} must be a number, not '{scalar.Value}'");
            return null;
        }
        if (rule.Violation(value) is not { } bound) return value;
        Problems.Add(scalar.Start, $"{Name(key)} must be {bound}, not {scalar.Value}");
        return null;
    }

    public bool IsList(string key) => Node(key) is YamlSequenceNode;

    /// <summary>A list of distinct numbers, each within <paramref name="rule"/> (whole numbers when the rule says so);
    /// null when a problem was reported.</summary>
    public IReadOnlyList<double>? NumberList(string key, NumberRule rule)
    {
        if (Node(key) is not YamlSequenceNode sequence) return null;
        if (sequence.Children.Count == 0)
        {
            Problems.Add(sequence.Start, $"{Name(key)} is an empty list: give one value or several");
            return null;
        }
        var values = new List<double>();
        var ok = true;
        foreach (var item in sequence.Children)
        {
            if (item is not YamlScalarNode { Style: ScalarStyle.Plain } scalar || IsNull(scalar)
                || !double.TryParse(scalar.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
            {
                Problems.Add(item.Start, $"each item of {Name(key)} must be a number, not {Describe(item)}");
                ok = false;
                continue;
            }
            if (rule.Violation(value) is { } bound)
            {
                Problems.Add(item.Start, $"each item of {Name(key)} must be {bound}, not {scalar.Value}");
                ok = false;
            }
            else if (values.Contains(value))
            {
                Problems.Add(item.Start, $"{Name(key)} lists {scalar.Value} twice");
                ok = false;
            }
            else values.Add(value);
        }
        return ok ? values : null;
    }

    /// <summary>A whole number within <paramref name="rule"/>.</summary>
    public int? WholeNumber(string key, NumberRule rule)
    {
        var value = Long(key);
        if (value is null) return null;
        if (rule.Violation(value.Value) is not { } bound) return (int)value.Value;
        Problems.Add(Node(key)!.Start, $"{Name(key)} must be {bound}, not {value}");
        return null;
    }

    /// <summary>One of <paramref name="allowed"/>, with a suggestion when it is not.</summary>
    public string? Choice(string key, IReadOnlyCollection<string> allowed)
    {
        if (Scalar(key, "a name") is not { } scalar) return null;
        if (allowed.Contains(scalar.Value!)) return scalar.Value;
        Problems.Add(scalar.Start, $"{Name(key)} must be one of {string.Join(", ", allowed)}, not '{scalar.Value}'{DidYouMean(scalar.Value!, allowed)}");
        return null;
    }

    /// <summary>The key's node, or null when the key is absent or written without a value (reported).</summary>
    YamlNode? Present(string key)
    {
        var node = Node(key);
        if (node is YamlScalarNode scalar && IsNull(scalar))
        {
            Problems.Add(node.Start, $"{Name(key)} has no value");
            return null;
        }
        return node;
    }

    YamlScalarNode? Scalar(string key, string what)
    {
        var node = Present(key);
        switch (node)
        {
            case null:
                return null;
            case YamlScalarNode scalar:
                return scalar;
            default:
                Problems.Add(node.Start, $"{Name(key)} must be {what}, not {Describe(node)}");
                return null;
        }
    }

    // A quoted "10" is a string in YAML; accepting it would hide a config written by a tool that quotes everything wrongly.
    bool NotQuoted(string key, YamlScalarNode scalar, string what)
    {
        if (scalar.Style == ScalarStyle.Plain) return true;
        Problems.Add(scalar.Start, $"{Name(key)} must be {what}, not the quoted text \"{scalar.Value}\" (remove the quotes)");
        return false;
    }

    internal static bool TryParseInteger(string text, out long value) =>
        long.TryParse(text.Replace("_", ""), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);

    internal static string DidYouMean(string typed, IEnumerable<string> known) =>
        Suggestions.Closest(typed, known) is { } closest ? $" (did you mean '{closest}'?)" : "";

    /// <summary>YAML's null: an empty plain value, '~' or 'null'.</summary>
    internal static bool IsNull(YamlScalarNode scalar) =>
        scalar.Style == ScalarStyle.Plain && scalar.Value is null or "" or "~" or "null" or "Null" or "NULL";

    internal static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        YamlScalarNode scalar when IsNull(scalar) => "an empty value",
        YamlScalarNode scalar => $"'{scalar.Value}'",
        _ => "an alias",
    };
}
