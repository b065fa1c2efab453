using SamCluster.Messages;
using SamCluster.Experiment;
using SamCluster.Experiment.Grid;

namespace SamCluster.RunStore;

/// <summary>
/// The --out folder of one grid run: its fixed layout, and the guard that a folder holds one grid only. A folder that
/// already holds a run of the same grid is resumed (the journal says what is done); of a different grid, refused.
/// Its manifest is <see cref="RunManifestFile"/>'s, its journal's checks <see cref="JournalChecks"/>', the nodes it
/// records <see cref="RunProvenance"/>'s.
/// </summary>
public sealed class RunFolder : IDisposable
{

    public string Root { get; }
    public string GridCopy => Path.Combine(Root, "grid.yaml");
    public string Manifest => Path.Combine(Root, RunManifestFile.FileName);
    public string TrialsCsv => Path.Combine(Root, RunFiles.TrialsTable);
    public string EpochsCsv => Path.Combine(Root, RunFiles.EpochsTable);
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

    /// <summary>Where the grid the run ran until now was kept when this grid grew it ("grid.previous-2.yaml"); null
    /// when it did not grow.</summary>
    public string? PreviousGrid { get; private set; }

    /// <summary>The run's journal on a PostgreSQL server (--journal); null when it is <see cref="Journal"/> in the folder.</summary>
    public PostgresJournal? ServerJournal { get; }

    readonly RunFolderLock? _lock;
    readonly RunProvenance? _provenance;   // null for a folder opened for reading

    RunFolder(string root, bool resumed, RunPlan? plan = null, RunFolderLock? owner = null, PostgresJournal? serverJournal = null,
        RunManifest? manifest = null)
    {
        Root = root;
        Resumed = resumed;
        Trials = plan?.Trials ?? [];
        Added = plan?.Added ?? [];
        _lock = owner;
        ServerJournal = serverJournal;
        _provenance = manifest is null ? null : new RunProvenance(Manifest, manifest);
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
        if (!File.Exists(Path.Combine(folder.Root, RunManifestFile.FileName)) && !Directory.Exists(Path.Combine(folder.Root, RunManifestFile.FileName)))
            throw new UserInputException($"'{dir}' is not a SamCluster run folder (no {RunManifestFile.FileName})");
        return folder;
    }

    public string TrialLog(string trialId) => TrialLogIn(Root, trialId);

    /// <summary>A trial's log in the run folder at <paramref name="root"/> (`serve` reads it without opening the folder).</summary>
    public static string TrialLogIn(string root, string trialId) => Path.Combine(root, "logs", trialId + ".log");

    /// <summary>The trials a run folder was made for, as its manifest lists them (a folder of an older version has only
    /// its grid copy: expanded as it was then).</summary>
    public static IReadOnlyList<TrialSpec> TrialsOf(string root) => TrialsOf(root, RunManifestFile.Read(Path.Combine(root, RunManifestFile.FileName)));

    public static IReadOnlyList<TrialSpec> TrialsOf(string root, RunManifest manifest) =>
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
    /// <param name="sequential">The grid's `sequential` key (null: every repeat runs). A run keeps the design it started
    /// with: a grid with another one is refused, and a sequential run does not grow.</param>
    public static RunFolder Prepare(string outDir, string gridFile, IReadOnlyList<TrialSpec> trials, Action? beforeWriting = null,
        PostgresJournal? serverJournal = null, ProgramFacts? program = null, SequentialPlan? sequential = null)
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
            var folder = PrepareOwned(root, outDir, gridFile, trials, owner, beforeWriting, serverJournal, program, sequential);
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
        Action? beforeWriting, PostgresJournal? server, ProgramFacts? program, SequentialPlan? sequential)
    {
        var manifestPath = Path.Combine(root, RunManifestFile.FileName);
        RunManifest? manifest = null;
        if (File.Exists(manifestPath))
        {
            manifest = RunManifestFile.Read(manifestPath);
            JournalChecks.CheckSameJournal(manifest, server, outDir);
        }
        else if (Directory.EnumerateFileSystemEntries(root).Any())
        {
            throw new UserInputException($"--out {outDir} is not empty and holds no SamCluster run; refusing to write into it");
        }

        // The run so far: the server's record when the journal is on a server (this folder's copy may be older, or this
        // folder new, on another host), else this folder's manifest.
        var held = server is null ? null : JournalChecks.CheckServerJournal(server, root, outDir, manifest);
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
            CheckSameDesign(existing, sequential, plan, held is not null ? $"the journal {server!.Name}" : $"--out {outDir}");
            if (server is null) JournalChecks.CheckFolderJournal(root, outDir);
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
        var fingerprint = GridFingerprint.Of(plan.Trials);
        var current = (existing ?? new RunManifest(fingerprint, Path.GetFullPath(gridFile), DateTimeOffset.UtcNow, RunId: NewRunId()))
            with { GridFingerprint = fingerprint, Trials = plan.Trials, Journal = server?.Name, Nodes = manifest?.Nodes ?? existing?.Nodes, Sequential = sequential };
        if (program is not null) current = current.WithProgram(program);
        var folder = new RunFolder(root, resumed: existing is not null, plan, owner, server, current);
        // The server's record is written last, so a folder is never left that the server's run does not know of.
        var serverBehind = server is not null && (held is null || plan.Added.Count > 0);
        if (manifest is null)
        {
            // Both or neither: a grid copy without its manifest (the disk filled in between) would make the folder one
            // that holds "no SamCluster run" and is refused from then on.
            try
            {
                DurableFile.WriteAllBytes(folder.GridCopy, File.ReadAllBytes(gridFile));
                RunManifestFile.Write(manifestPath, current);
                if (serverBehind) server!.WriteRunManifest(RunManifestFile.Text(current));
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
                folder.PreviousGrid = Path.GetFileName(previous);
            }
            RunManifestFile.Write(manifestPath, current);
            if (serverBehind) server!.WriteRunManifest(RunManifestFile.Text(current));
            if (gridChanged) DurableFile.WriteAllBytes(folder.GridCopy, File.ReadAllBytes(gridFile));
        }
        else if (RunManifestFile.Text(current) != RunManifestFile.Text(manifest))
        {
            RunManifestFile.Write(manifestPath, current);   // this start's program (a resumed run records the latest)
        }
        return folder;
    }

    /// <summary>A group-sequential design is fixed before the run starts: its error guarantee holds only for the looks
    /// and levels chosen up front, so a run keeps its `sequential` key as it was, and adds no trials to one that has it.</summary>
    public static void CheckSameDesign(RunManifest existing, SequentialPlan? sequential, RunPlan plan, string where)
    {
        if (!Equals(existing.Sequential, sequential))
            throw new UserInputException(
                $"{where} holds a run whose 'sequential' is {Describe(existing.Sequential)}, and this grid's is {Describe(sequential)}: " +
                "a sequential design is fixed before the run starts (changing it voids its error guarantee); put the key back as it was, or choose another --out folder");
        if (sequential is not null && plan.Added.Count > 0)
            throw new UserInputException(
                $"{where} holds a sequential run, and this grid adds {plan.Added.Count} trial(s) to it (e.g. {plan.Added[0].Key.Id}): " +
                "a sequential run cannot grow (its looks fix the repeats up front; trials added after a decision void its error guarantee); choose another --out folder");

        static string Describe(SequentialPlan? plan) => plan is null ? "absent (every repeat runs)" : $"{{{plan}}}";
    }

    /// <summary>run.json as this process holds it (the report's provenance); null for a folder opened for reading.</summary>
    public RunManifest? Provenance => _provenance?.Manifest;

    /// <summary>Records in run.json a node that ran (or is running) a trial of this run (<see cref="RunProvenance"/>);
    /// nothing for a folder opened for reading.</summary>
    public void RecordNode(string name, NodeFacts? facts) => _provenance?.RecordNode(name, facts);

    static string NewRunId() => Guid.NewGuid().ToString("N");
}
