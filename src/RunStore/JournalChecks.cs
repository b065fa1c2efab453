using System.Text.Json;
using Microsoft.Data.Sqlite;
using SamCluster.Experiment;
using SamCluster.Messages;

namespace SamCluster.RunStore;

/// <summary>
/// Before a run folder is resumed: its journal must be where the folder keeps it, one the cluster can replay, and still
/// hold the trials trials.csv lists as finished — a lost journal would train them again and rewrite trials.csv with
/// less. journal.db is checked here (SQLite's quick_check, events it cannot read back, its event count); a server
/// journal answers the same questions itself (<see cref="PostgresJournal"/>).
/// </summary>
static class JournalChecks
{
    const string TrialsFile = RunFiles.TrialsTable;

    /// <summary>A folder keeps its journal where it started it: journal.db, or the server its run.json names. Moving it
    /// would start the run over on an empty journal, training its finished trials again.</summary>
    public static void CheckSameJournal(RunManifest manifest, PostgresJournal? server, string outDir)
    {
        if (manifest.Journal is null && server is not null)
            throw new UserInputException($"--out {outDir} keeps its run's journal in its journal.db, not in {server.Name}; " +
                                         $"run it without --journal (and without ${PostgresJournal.EnvironmentVariable}), or choose another --out folder");
        if (manifest.Journal is { } name && server is null)
            throw new UserInputException($"--out {outDir} keeps its run's journal in PostgreSQL ({name}); " +
                                         $"give its connection string with --journal or ${PostgresJournal.EnvironmentVariable}");
    }

    /// <summary>Refuses a folder whose trials.csv has rows but whose journal.db is missing, empty or unreadable.</summary>
    public static void CheckFolderJournal(string root, string outDir)
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
        CheckReadable(journal, outDir);
        if (FirstUnreadableEvent(journal) is { } unreadable)
            throw new UserInputException(
                $"--out {outDir}: the journal cannot be replayed: {unreadable}; nothing was changed — restore journal.db from a backup, or choose another --out folder");
        if (finished > 0 && EventCount(journal) == 0)
            throw new UserInputException($"--out {outDir}: {TrialsFile} lists {finished} finished trials but journal.db holds no events; refusing to train them again — {recover}");
    }

    /// <summary>The run the server's journal holds (null when none yet), refusing a journal that is not this folder's
    /// run's, holds events of no known run, cannot be replayed, or has lost the trials this folder lists as finished.</summary>
    public static RunManifest? CheckServerJournal(PostgresJournal server, string root, string outDir, RunManifest? folderManifest)
    {
        var text = server.ReadRunManifest();
        RunManifest? held;
        try
        {
            held = text is null ? null : RunManifestFile.Parse(text);
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

    /// <summary>trials.csv's rows: one line each (the coordinator writes a line break in a cell as a space).</summary>
    static int FinishedRows(string trialsCsv)
    {
        if (!File.Exists(trialsCsv)) return 0;
        return File.ReadLines(trialsCsv).Skip(1).Count(line => line.Trim().Length > 0);
    }

    /// <summary>A journal SQLite cannot read makes the cluster's persistence fail and retry forever, printing traces:
    /// refuse it up front instead. Opened read-write without create, so a missing journal is left missing.</summary>
    static void CheckReadable(string path, string outDir)
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

    /// <summary>The first event of the journal our serializer cannot read back, described; null when all read. Without
    /// this check, recovery of that trial fails again on every attempt.</summary>
    static string? FirstUnreadableEvent(string journal)
    {
        using var db = OpenReadOnly(journal);
        return HasEventTable(db) ? JournalReplay.FirstUnreadable(db) : null;
    }

    /// <summary>Rows in the journal's event table (Akka.Persistence.Sql's "journal"); 0 when it has none yet.</summary>
    static long EventCount(string journal)
    {
        using var db = OpenReadOnly(journal);
        if (!HasEventTable(db)) return 0;
        using var query = db.CreateCommand();
        query.CommandText = "SELECT count(*) FROM journal";
        return (long)query.ExecuteScalar()!;
    }

    static SqliteConnection OpenReadOnly(string journal)
    {
        var connection = new SqliteConnectionStringBuilder { DataSource = journal, Mode = SqliteOpenMode.ReadOnly, Pooling = false };
        var db = new SqliteConnection(connection.ToString());
        try
        {
            db.Open();
            return db;
        }
        catch
        {
            db.Dispose();
            throw;
        }
    }

    static bool HasEventTable(SqliteConnection db)
    {
        using var query = db.CreateCommand();
        query.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'journal'";
        return (long)query.ExecuteScalar()! > 0;
    }
}
