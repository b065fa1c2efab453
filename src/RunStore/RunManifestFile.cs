using System.Text.Json;
using SamCluster.Experiment;
using SamCluster.Messages;

namespace SamCluster.RunStore;

/// <summary>run.json, the run folder's manifest (<see cref="RunManifest"/>), as text: snake_case JSON, as every file of
/// the run folder; a manifest of an older version (PascalCase keys) is read too. A server journal keeps the same text.</summary>
public static class RunManifestFile
{
    public const string FileName = "run.json";

    /// <summary>A run folder's run.json, for the report's provenance; null when there is none or it is unreadable.</summary>
    public static RunManifest? TryRead(string root)
    {
        var path = Path.Combine(root, FileName);
        try { return File.Exists(path) ? Read(path) : null; }
        catch (UserInputException) { return null; }
    }

    /// <summary>Throws <see cref="UserInputException"/> when the file is not a run manifest.</summary>
    public static RunManifest Read(string path)
    {
        try
        {
            return Parse(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new UserInputException($"{path} is not a SamCluster run manifest ({e.Message}); refusing to touch this folder");
        }
    }

    public static void Write(string path, RunManifest manifest) => DurableFile.WriteAllText(path, Text(manifest));

    public static string Text(RunManifest manifest) => JsonSerializer.Serialize(manifest, Json);

    /// <summary>Throws <see cref="JsonException"/> when <paramref name="text"/> is not a run manifest.</summary>
    public static RunManifest Parse(string text)
    {
        var manifest = JsonSerializer.Deserialize<RunManifest>(text, Json) ?? throw new JsonException("empty");
        if (manifest.GridFingerprint is null)
            manifest = JsonSerializer.Deserialize<RunManifest>(text, LegacyJson) ?? throw new JsonException("empty");
        return manifest.GridFingerprint is null ? throw new JsonException("no grid_fingerprint") : manifest;
    }

    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
    static readonly JsonSerializerOptions LegacyJson = new() { WriteIndented = true };
}
