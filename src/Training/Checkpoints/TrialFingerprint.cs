using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SamCluster.Messages;

namespace SamCluster.Training.Checkpoints;

/// <summary>Identifies everything about a trial that affects its results (key, seed, data spec, recipe), so a
/// checkpoint of another spec is never resumed from.</summary>
public static class TrialFingerprint
{
    /// <summary>The spec as JSON, less what cannot change results (where decoded images are cached).</summary>
    public static string Json(TrialSpec spec) => JsonSerializer.Serialize(spec with { Data = spec.Data with { CacheDir = null } });

    /// <summary>Lower-case hex SHA-256 of <see cref="Json"/>.</summary>
    public static string Of(TrialSpec spec) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Json(spec))));

    /// <summary>What differs between a checkpoint's spec JSON and this trial's, e.g.
    /// "Key.Optimizer: sgd in the checkpoint, sam here" (at most three, then "…").</summary>
    public static string Difference(string checkpointJson, string thisJson)
    {
        Dictionary<string, string> theirs, ours;
        try
        {
            theirs = Flatten(JsonNode.Parse(checkpointJson));
            ours = Flatten(JsonNode.Parse(thisJson));
        }
        catch (JsonException)
        {
            return "its spec cannot be read";
        }
        var differences = ours.Keys.Union(theirs.Keys)
            .Where(path => path != "Key.Id")   // derived from the other key fields
            .Where(path => theirs.GetValueOrDefault(path) != ours.GetValueOrDefault(path))
            .Select(path => $"{path}: {theirs.GetValueOrDefault(path) ?? "absent"} in the checkpoint, {ours.GetValueOrDefault(path) ?? "absent"} here")
            .ToList();
        if (differences.Count == 0) return "its spec fingerprint differs";
        return string.Join("; ", differences.Take(3)) + (differences.Count > 3 ? "; …" : "");
    }

    private static Dictionary<string, string> Flatten(JsonNode? node)
    {
        var leaves = new Dictionary<string, string>();
        void Walk(JsonNode? n, string path)
        {
            if (n is JsonObject obj)
                foreach (var (name, child) in obj) Walk(child, path.Length == 0 ? name : $"{path}.{name}");
            else leaves[path] = n is JsonValue value && value.TryGetValue<string>(out var text) ? (text == "" ? "\"\"" : text)
                : n?.ToJsonString() ?? "null";
        }
        Walk(node, "");
        return leaves;
    }
}
