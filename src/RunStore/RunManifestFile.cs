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

    // A run.json lists the run's trials, a few hundred bytes each: far more is not a run manifest (and /dev/zero never ends).
    const long MaxBytes = 256L << 20;

    /// <summary>Throws <see cref="UserInputException"/> when the file is not a run manifest — a FIFO, a device or a
    /// folder among them: read as any file the user names (<see cref="InputFile"/>), bounded in time and size.</summary>
    public static RunManifest Read(string path)
    {
        try
        {
            return Parse(System.Text.Encoding.UTF8.GetString(InputFile.ReadAllBytes(path, MaxBytes, "a SamCluster run manifest")));
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
