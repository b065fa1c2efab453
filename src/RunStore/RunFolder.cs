using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Data.Sqlite;
using SamCluster.Messages;
using SamCluster.Experiment;
using SamCluster.Experiment.Grid;

namespace SamCluster.RunStore;

/// <summary>
/// The --out folder of one grid run: its fixed layout, and the guard that a folder holds one grid only. A folder that
/// already holds a run of the same grid is resumed (the journal says what is done); of a different grid, refused.
/// </summary>
public sealed class RunFolder : IDisposable
{
    /// <summary>The result tables' names in the folder.</summary>
    public const string TrialsFile = "trials.csv", EpochsFile = "epochs.csv";

    public string Root { get; }
    public string GridCopy => Path.Combine(Root, "grid.yaml");
    public string Manifest => Path.Combine(Root, "run.json");
    public string TrialsCsv => Path.Combine(Root, TrialsFile);
    public string EpochsCsv => Path.Combine(Root, EpochsFile);
    public string LogsDir => Path.Combine(Root, "logs");
    public string EventLog => Path.Combine(Root, "logs", "run.clef");
    /// <summary>The SQLite journal (the default; see <see cref="ServerJournal"/>).</summary>
    public string Journal => Path.Combine(Root, "journal.db");

    /// <summary>True when the folder already held this run (a restart, or a grid that grows it).</summary>
    public bool Resumed { get; }

    /// <summary>The run's trials: those it had (with their ids) and those this grid added. Empty for readers.</summary>
    public IReadOnlyList<TrialSpec> Trials { get; }

    /// <summary>The trials this grid added to an existing run (all of them for a new run).</summary>
    public IReadOnlyList<TrialSpec> Added { get; }

    /// <summary>The run's journal on a PostgreSQL server (--journal); null when it is <see cref="Journal"/> in the folder.</summary>
    public PostgresJournal? ServerJournal { get; }

    readonly RunFolderLock? _lock;

    RunFolder(string root, bool resumed, RunPlan? plan = null, RunFolderLock? owner = null, PostgresJournal? serverJournal = null)
    {
        Root = root;
        Resumed = resumed;
        Trials = plan?.Trials ?? [];
        Added = plan?.Added ?? [];
        _lock = owner;
        ServerJournal = serverJournal;
    }

    /// <summary>Gives up ownership (a prepared folder is owned until then, or until the process ends).</summary>
    public void Dispose() => _lock?.Dispose();

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

    /// <summary>The trials a run folder was made for, as its manifest lists them (a folder of an older version has only
    /// its grid copy: expanded as it was then).</summary>
    public static IReadOnlyList<TrialSpec> TrialsOf(string root) => TrialsOf(root, ReadManifest(Path.Combine(root, "run.json")));

    static IReadOnlyList<TrialSpec> TrialsOf(string root, RunManifest manifest) =>
        manifest.Trials ?? GridExpander.Expand(GridConfigLoader.Load(Path.Combine(root, "grid.yaml")));

    public string WeightsDir => Path.Combine(Root, "weights");

    /// <summary>A completed trial's trained weights (a PyTorch state dict), weights/&lt;trial id&gt;.pt.</summary>
    public string TrialWeights(string trialId) => Path.Combine(WeightsDir, trialId + ".pt");

    /// <summary>Where `local` keeps checkpoints (coordinator and nodes share this machine).</summary>
    public string CheckpointsDir => Path.Combine(Root, "checkpoints");

    /// <summary>Creates or reopens the run folder for a grid, refusing anything that would mix or overwrite runs: a grid
    /// may continue a run it only adds trials to (<see cref="RunGrowth"/>). The folder is owned
    /// (<see cref="RunFolderLock"/>) from before its contents are read until the RunFolder is disposed, so a second
    /// coordinator or `local` on it is refused at once.</summary>
    /// <param name="trials">The grid's trials (<see cref="GridExpander"/>).</param>
    /// <param name="beforeWriting">Checks that take time (reading the data): run once the folder is known to be this
    /// run's and owned, before anything is written to it; if they refuse, a folder made here is removed again.</param>
    /// <param name="serverJournal">The run's journal on a PostgreSQL server, opened (and so owned) by the caller; null:
    /// journal.db in the folder. The server's run is the run: a fresh folder continues it.</param>
    /// <param name="program">What this start runs (versions, command line), recorded in run.json; null leaves what it says.</param>
    public static RunFolder Prepare(string outDir, string gridFile, IReadOnlyList<TrialSpec> trials, Action? beforeWriting = null,
        PostgresJournal? serverJournal = null, ProgramFacts? program = null)
    {
        var root = Path.GetFullPath(outDir);
        if (File.Exists(root)) throw new UserInputException($"--out {outDir} is a file, not a folder");
        var made = !Directory.Exists(root);
        try
        {
            Directory.CreateDirectory(root);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException && !DiskFull.Is(e))
        {
            throw new UserInputException($"--out {outDir} cannot be created ({e.Message})");
        }
        RunFolderLock? owner = null;
        try
        {
            owner = RunFolderLock.Acquire(root, outDir);
            var folder = PrepareOwned(root, outDir, gridFile, trials, owner, beforeWriting, serverJournal, program);
            owner.RecordOwner();
            return folder;
        }
        catch
        {
            owner?.Dispose();
            if (made && Directory.Exists(root) && !Directory.EnumerateFileSystemEntries(root).Any()) Directory.Delete(root);
            throw;
        }
    }

    static RunFolder PrepareOwned(string root, string outDir, string gridFile, IReadOnlyList<TrialSpec> requested, RunFolderLock owner,
        Action? beforeWriting, PostgresJournal? server, ProgramFacts? program)
    {
        var manifestPath = Path.Combine(root, "run.json");
        RunManifest? manifest = null;
        if (File.Exists(manifestPath))
        {
            manifest = ReadManifest(manifestPath);
            CheckSameJournal(manifest, server, outDir);
        }
        else if (Directory.EnumerateFileSystemEntries(root).Any())
        {
            throw new UserInputException($"--out {outDir} is not empty and holds no SamCluster run; refusing to write into it");
        }

        // The run so far: the server's record when the journal is on a server (this folder's copy may be older, or this
        // folder new, on another host), else this folder's manifest.
        var held = server is null ? null : ServerRun(server, root, outDir, manifest);
        var existing = held ?? manifest;
        var plan = new RunPlan(requested, requested);
        if (existing is not null)
        {
            try
            {
                plan = RunGrowth.Plan(TrialsOf(root, existing), requested);
            }
            catch (UserInputException e)
            {
                var where = held is not null ? $"the journal {server!.Name}" : $"--out {outDir}";
                var instead = held is not null ? "use another database for another grid" : "choose another --out folder";
                throw new UserInputException($"{where} holds a run of a different grid: {e.Message}; refusing to mix runs — {instead}");
            }
            if (server is null) CheckJournal(root, outDir);
        }
        beforeWriting?.Invoke();

        try
        {
            Directory.CreateDirectory(Path.Combine(root, "logs"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException && !DiskFull.Is(e))
        {
            throw new UserInputException($"--out {outDir} cannot be created ({e.Message})");
        }
        var folder = new RunFolder(root, resumed: existing is not null, plan, owner, server);
        var fingerprint = GridFingerprint.Of(plan.Trials);
        var current = (existing ?? new RunManifest(fingerprint, Path.GetFullPath(gridFile), DateTimeOffset.UtcNow, RunId: NewRunId()))
            with { GridFingerprint = fingerprint, Trials = plan.Trials, Journal = server?.Name, Nodes = manifest?.Nodes ?? existing?.Nodes };
        if (program is not null) current = current.WithProgram(program);
        folder._manifest = current;
        // The server's record is written last, so a folder is never left that the server's run does not know of.
        var serverBehind = server is not null && (held is null || plan.Added.Count > 0);
        if (manifest is null)
        {
            // Both or neither: a grid copy without its manifest (the disk filled in between) would make the folder one
            // that holds "no SamCluster run" and is refused from then on.
            try
            {
                DurableFile.WriteAllBytes(folder.GridCopy, File.ReadAllBytes(gridFile));
                WriteManifest(manifestPath, current);
                if (serverBehind) server!.WriteRunManifest(ManifestText(current));
            }
            catch
            {
                File.Delete(folder.GridCopy);
                File.Delete(manifestPath);
                if (!Directory.EnumerateFileSystemEntries(folder.LogsDir).Any()) Directory.Delete(folder.LogsDir);
                throw;
            }
            return folder;
        }
        // The run grows, or another coordinator on the same server journal grew it since this folder was last used.
        var gridChanged = plan.Added.Count > 0 || server is not null && manifest.GridFingerprint != fingerprint;
        if (gridChanged || manifest.Trials is null || serverBehind)
        {
            // The grid it ran until now is kept beside the new one; the manifest, which says what the run's trials are,
            // is written before the new grid copy, so a disk that fills in between leaves a folder the next run reads
            // right. (A manifest that predates trial lists gets them.)
            if (gridChanged)
            {
                var previous = Enumerable.Range(1, int.MaxValue).Select(n => Path.Combine(root, $"grid.previous-{n}.yaml")).First(p => !File.Exists(p));
                File.Copy(folder.GridCopy, previous);
            }
            WriteManifest(manifestPath, current);
            if (serverBehind) server!.WriteRunManifest(ManifestText(current));
            if (gridChanged) DurableFile.WriteAllBytes(folder.GridCopy, File.ReadAllBytes(gridFile));
        }
        else if (ManifestText(current) != ManifestText(manifest))
        {
            WriteManifest(manifestPath, current);   // this start's program (a resumed run records the latest)
        }
        return folder;
    }

    RunManifest? _manifest;

    /// <summary>Records in run.json a node that ran (or is running) a trial of this run, once per node name (again when
    /// its facts change: a node restarted with another libtorch, say).</summary>
    public void RecordNode(string name, NodeFacts? facts)
    {
        if (_manifest is null) return;   // a folder opened for reading
        var node = RunNode.From(name, facts);
        var nodes = _manifest.Nodes ?? [];
        if (nodes.Any(n => n == node || (n.Name == name && facts is null))) return;
        _manifest = _manifest with { Nodes = [.. nodes.Where(n => n.Name != name), node] };
        WriteManifest(Manifest, _manifest);
    }

    /// <summary>Reads a run folder's run.json, for the report's provenance; null when there is none or it is unreadable.</summary>
    public static RunManifest? TryReadManifest(string root)
    {
        try { return File.Exists(Path.Combine(root, "run.json")) ? ReadManifest(Path.Combine(root, "run.json")) : null; }
        catch (UserInputException) { return null; }
    }

    static string NewRunId() => Guid.NewGuid().ToString("N");

    /// <summary>A folder keeps its journal where it started it: journal.db, or the server its run.json names. Moving it
    /// would start the run over on an empty journal, training its finished trials again.</summary>
    static void CheckSameJournal(RunManifest manifest, PostgresJournal? server, string outDir)
    {
        if (manifest.Journal is null && server is not null)
            throw new UserInputException($"--out {outDir} keeps its run's journal in its journal.db, not in {server.Name}; " +
                                         $"run it without --journal (and without ${PostgresJournal.EnvironmentVariable}), or choose another --out folder");
        if (manifest.Journal is { } name && server is null)
            throw new UserInputException($"--out {outDir} keeps its run's journal in PostgreSQL ({name}); " +
                                         $"give its connection string with --journal or ${PostgresJournal.EnvironmentVariable}");
    }

    /// <summary>The run the server's journal holds (null when none yet), refusing a journal that is not this folder's
    /// run's, holds events of no known run, cannot be replayed, or has lost the trials this folder lists as finished.</summary>
    static RunManifest? ServerRun(PostgresJournal server, string root, string outDir, RunManifest? folderManifest)
    {
        var text = server.ReadRunManifest();
        RunManifest? held;
        try
        {
            held = text is null ? null : ParseManifest(text);
        }
        catch (JsonException e)
        {
            throw new UserInputException($"the journal {server.Name} holds a run record that is not a SamCluster run manifest ({e.Message}); refusing to touch it");
        }
        if (held is not null && folderManifest is not null && held.RunId != folderManifest.RunId)
            throw new UserInputException($"--out {outDir} holds run {folderManifest.RunId} but the journal {server.Name} holds run {held.RunId} " +
                                         $"(grid {held.GridSource}); refusing to mix runs — give that run's database, or choose another --out folder");
        var events = server.Events();
        if (held is null && events > 0)
            throw new UserInputException($"the journal {server.Name} holds events ({events}) but no SamCluster run record; refusing to mix runs — " +
                                         "give an empty database for a new run");
        if (server.UnreadableEvent() is { } unreadable)
            throw new UserInputException($"the journal {server.Name} cannot be replayed: {unreadable}; nothing was changed — restore the database from a backup, or use another one");
        var finished = FinishedRows(Path.Combine(root, TrialsFile));
        if (finished > 0 && events == 0)
            throw new UserInputException($"--out {outDir}: {TrialsFile} lists {finished} finished trials but the journal {server.Name} holds no events; " +
                                         $"refusing to train them again — restore the database from a backup, or move {TrialsFile} aside to train those trials again");
        return held;
    }

    /// <summary>Finished trials whose journal is gone would be trained again and trials.csv rewritten with less: refuse
    /// a folder whose trials.csv has rows but whose journal is missing, empty or unreadable.</summary>
    static void CheckJournal(string root, string outDir)
    {
        var journal = Path.Combine(root, "journal.db");
        var finished = FinishedRows(Path.Combine(root, TrialsFile));
        var recover = $"restore journal.db from a backup, or move {TrialsFile} aside to train those trials again";
        if (!File.Exists(journal))
        {
            if (finished > 0)
                throw new UserInputException($"--out {outDir}: {TrialsFile} lists {finished} finished trials but journal.db is missing; refusing to train them again — {recover}");
            return;
        }
        CheckJournalReadable(journal, outDir);
        if (UnreadableEvent(journal) is { } unreadable)
            throw new UserInputException(
                $"--out {outDir}: the journal cannot be replayed: {unreadable}; nothing was changed — restore journal.db from a backup, or choose another --out folder");
        if (finished > 0 && JournalEvents(journal) == 0)
            throw new UserInputException($"--out {outDir}: {TrialsFile} lists {finished} finished trials but journal.db holds no events; refusing to train them again — {recover}");
    }

    static int FinishedRows(string trialsCsv)
    {
        if (!File.Exists(trialsCsv)) return 0;
        return File.ReadLines(trialsCsv).Skip(1).Count(line => line.Trim().Length > 0);
    }

    /// <summary>The first event of the journal our serializer cannot read back, described; null when all read. Without
    /// this check, recovery of that trial fails again on every attempt.</summary>
    static string? UnreadableEvent(string journal)
    {
        var connection = new SqliteConnectionStringBuilder { DataSource = journal, Mode = SqliteOpenMode.ReadOnly, Pooling = false };
        using var db = new SqliteConnection(connection.ToString());
        db.Open();
        using var query = db.CreateCommand();
        query.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'journal'";
        return (long)query.ExecuteScalar()! == 0 ? null : JournalReplay.FirstUnreadable(db);
    }

    /// <summary>Rows in the journal's event table (Akka.Persistence.Sql's "journal"); 0 when it has none yet.</summary>
    static long JournalEvents(string journal)
    {
        var connection = new SqliteConnectionStringBuilder { DataSource = journal, Mode = SqliteOpenMode.ReadOnly, Pooling = false };
        using var db = new SqliteConnection(connection.ToString());
        db.Open();
        using var query = db.CreateCommand();
        query.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'journal'";
        if ((long)query.ExecuteScalar()! == 0) return 0;
        query.CommandText = "SELECT count(*) FROM journal";
        return (long)query.ExecuteScalar()!;
    }

    /// <summary>A journal SQLite cannot read makes the cluster's persistence fail and retry forever, printing traces:
    /// refuse it up front instead. Opened read-write without create, so a missing journal is left missing.</summary>
    static void CheckJournalReadable(string path, string outDir)
    {
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

    static string ManifestText(RunManifest manifest) => JsonSerializer.Serialize(manifest, ManifestJson);

    static RunManifest ReadManifest(string path)
    {
        try
        {
            return ParseManifest(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new UserInputException($"{path} is not a SamCluster run manifest ({e.Message}); refusing to touch this folder");
        }
    }

    static void WriteManifest(string path, RunManifest manifest) =>
        DurableFile.WriteAllText(path, ManifestText(manifest));

    /// <summary>snake_case, as every file of the run folder; a manifest of an older version (PascalCase keys) is read too.</summary>
    static RunManifest ParseManifest(string text)
    {
        var manifest = JsonSerializer.Deserialize<RunManifest>(text, ManifestJson) ?? throw new JsonException("empty");
        if (manifest.GridFingerprint is null)
            manifest = JsonSerializer.Deserialize<RunManifest>(text, LegacyManifestJson) ?? throw new JsonException("empty");
        return manifest.GridFingerprint is null ? throw new JsonException("no grid_fingerprint") : manifest;
    }

    static readonly JsonSerializerOptions ManifestJson = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
    static readonly JsonSerializerOptions LegacyManifestJson = new() { WriteIndented = true };
}
