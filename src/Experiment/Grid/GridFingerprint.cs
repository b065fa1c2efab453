using System.Security.Cryptography;
using System.Text.Json;
using SamCluster.Messages;
using SamCluster.Experiment;

namespace SamCluster.Experiment.Grid;

/// <summary>Identifies what a set of trials computes, so a run folder can refuse to be continued with another grid.</summary>
public static class GridFingerprint
{
    /// <summary>SHA-256 (lower-case hex) of a canonical JSON of the trials sorted by id: id, seed, the data selection
    /// and the whole recipe. Where the data lives (Root, CacheDir) is left out: moving the data, or running on machines
    /// that mount it elsewhere, does not change the experiment.</summary>
    public static string Of(IEnumerable<TrialSpec> trials)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("format", "samcluster-grid-fingerprint-1");
            json.WriteStartArray("trials");
            foreach (var trial in trials.OrderBy(t => t.Key.Id, StringComparer.Ordinal))
                Write(json, trial);
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return Convert.ToHexStringLower(SHA256.HashData(buffer.ToArray()));
    }

    static void Write(Utf8JsonWriter json, TrialSpec trial)
    {
        var (data, recipe) = (trial.Data, trial.Recipe);
        json.WriteStartObject();
        json.WriteString("id", trial.Key.Id);
        json.WriteNumber("seed", trial.Seed);
        json.WriteString("dataset", data.Dataset);
        json.WriteStartArray("classes");
        foreach (var name in data.Classes) json.WriteStringValue(name);
        json.WriteEndArray();
        json.WriteNumber("train_limit", data.TrainLimit);
        json.WriteNumber("test_limit", data.TestLimit);
        json.WriteNumber("image_size", data.ImageSize);
        json.WriteNumber("test_per_class", data.TestPerClass);
        json.WriteNumber("split_seed", data.SplitSeed);
        RecipeTable.WriteFingerprint(json, recipe, trial.Key.Optimizer);
        json.WriteEndObject();
    }
}
