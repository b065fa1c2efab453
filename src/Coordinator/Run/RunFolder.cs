using System.Text.Json;
using SamCluster.Coordinator.Reporting;
using Microsoft.Data.Sqlite;
using SamCluster.Messages;

namespace SamCluster.Coordinator.Run;

/// <summary>
/// The --out folder of one grid run: its fixed layout, and the guard that a folder holds one grid only. A folder that
/// already holds a run of the same grid is resumed (the journal says what is done); of a different grid, refused.
/// </summary>
public sealed class RunFolder
{
    public string Root { get; }
    public string GridCopy => Path.Combine(Root, "grid.yaml");
    public string Manifest => Path.Combine(Root, "run.json");
    public string TrialsCsv => Path.Combine(Root, RunFiles.TrialsFile);
    public string EpochsCsv => Path.Combine(Root, RunFiles.EpochsFile);
    public string LogsDir => Path.Combine(Root, "logs");
    public string EventLog => Path.Combine(Root, "logs", "run.clef");
    public string Journal => Path.Combine(Root, "journal.db");

    /// <summary>True when the folder already held this grid's run (a restart).</summary>
    public bool Resumed { get; }

    RunFolder(string root, bool resumed) { Root = root; Resumed = resumed; }

    /// <summary>An existing run folder, for readers (`tail`): its layout only, nothing created or checked beyond
    /// it being a run folder.</summary>
    public static RunFolder Open(string dir)
    {
        if (!Directory.Exists(dir)) throw new UserInputException($"run folder '{dir}' does not exist");
        var folder = new RunFolder(Path.GetFullPath(dir), resumed: true);
        if (!File.Exists(folder.GridCopy)) throw new UserInputException($"'{dir}' is not a SamCluster run folder (no grid.yaml)");
        return folder;
    }

    public string TrialLog(string trialId) => Path.Combine(LogsDir, trialId + ".log");

    public string WeightsDir => Path.Combine(Root, "weights");

    /// <summary>A completed trial's trained weights (a PyTorch state dict), weights/&lt;trial id&gt;.pt.</summary>
    public string TrialWeights(string trialId) => Path.Combine(WeightsDir, trialId + ".pt");

    /// <summary>Where `local` keeps checkpoints (coordinator and nodes share this machine).</summary>
    public string CheckpointsDir => Path.Combine(Root, "checkpoints");

    /// <summary>Creates or reopens the run folder for a grid, refusing anything that would mix or overwrite runs.</summary>
    public static RunFolder Prepare(string outDir, string gridFile, string gridFingerprint)
    {
        var root = Path.GetFullPath(outDir);
        if (File.Exists(root)) throw new UserInputException($"--out {outDir} is a file, not a folder");
        var manifestPath = Path.Combine(root, "run.json");
        bool resumed = false;
        if (File.Exists(manifestPath))
        {
            var manifest = ReadManifest(manifestPath);
            if (manifest.GridFingerprint != gridFingerprint)
                throw new UserInputException(
                    $"--out {outDir} holds a run of a different grid (its grid.yaml); refusing to mix runs — choose another --out folder");
            CheckJournal(Path.Combine(root, "journal.db"), outDir);
            resumed = true;
        }
        else if (Directory.Exists(root) && Directory.EnumerateFileSystemEntries(root).Any())
        {
            throw new UserInputException($"--out {outDir} is not empty and holds no SamCluster run; refusing to write into it");
        }

        try
        {
            Directory.CreateDirectory(root);
            Directory.CreateDirectory(Path.Combine(root, "logs"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UserInputException($"--out {outDir} cannot be created ({e.Message})");
        }
        var folder = new RunFolder(root, resumed);
        if (!resumed)
        {
            File.Copy(gridFile, folder.GridCopy, overwrite: false);
            AtomicFile.WriteAllText(manifestPath, JsonSerializer.Serialize(
                new RunManifest(gridFingerprint, Path.GetFullPath(gridFile), DateTimeOffset.UtcNow), ManifestJson));
        }
        return folder;
    }

    /// <summary>A journal SQLite cannot read makes the cluster's persistence fail and retry forever, printing traces:
    /// refuse it up front instead. Opened read-write without create, so a missing journal is left missing.</summary>
    static void CheckJournal(string path, string outDir)
    {
        if (!File.Exists(path)) return;
        string? verdict;
        try
        {
            var connection = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWrite, Pooling = false };
            using var db = new SqliteConnection(connection.ToString());
            db.Open();
            using var check = db.CreateCommand();
            check.CommandText = "PRAGMA quick_check";
            verdict = check.ExecuteScalar() as string;
        }
        catch (SqliteException e)
        {
            verdict = e.Message;
        }
        if (verdict != "ok")
            throw new UserInputException(
                $"--out {outDir}: its journal.db is not a readable SQLite database ({verdict}); refusing to touch this folder — restore journal.db or choose another --out folder");
    }

    static RunManifest ReadManifest(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<RunManifest>(File.ReadAllText(path), ManifestJson)
                   ?? throw new JsonException("empty");
        }
        catch (JsonException e)
        {
            throw new UserInputException($"{path} is not a SamCluster run manifest ({e.Message}); refusing to touch this folder");
        }
    }

    static readonly JsonSerializerOptions ManifestJson = new() { WriteIndented = true };

    sealed record RunManifest(string GridFingerprint, string GridSource, DateTimeOffset Created);
}
