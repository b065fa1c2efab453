using SamCluster.Coordinator.Lifecycle;
using SamCluster.Experiment;
using SamCluster.Messages;
using SamCluster.Reporting;
using SamCluster.RunStore;

namespace SamCluster.Coordinator.Serving;

/// <summary>
/// One reading of a run folder's files: run.json, trials.csv, epochs.csv, whether report.json is there, whether a process
/// holds the folder. Every file is read through <see cref="RunFolderFile"/>: a symbolic link, a file with a second name,
/// a FIFO in its place is refused, never followed. A file being appended to may end in a partial line: that line is left
/// for the next reading.
/// </summary>
/// <param name="Problem">Why the run cannot be shown (its run.json or a table unreadable); its other fields are then empty.</param>
public sealed record RunSnapshot(
    RunLocation Location,
    RunManifest? Manifest,
    IReadOnlyList<TrialSpec> Trials,
    IReadOnlyList<TrialResultRow> Rows,
    IReadOnlyList<EpochResultRow> Epochs,
    bool Held,
    bool ReportReady,
    DateTimeOffset? LastWrite,
    string? Problem)
{
    public const string ReportFile = RunReport.Json;

    /// <summary>The files whose change means a new reading (<see cref="Stamp"/>).</summary>
    static readonly string[] Watched = [RunManifestFile.FileName, RunFiles.TrialsTable, RunFiles.EpochsTable, ReportFile];

    /// <summary>What changes when the run does: each watched file's size and time of last write, and the folder's lock
    /// (a run that stops changes no file). Cheap: no file is opened.</summary>
    public static string Stamp(RunLocation run) =>
        string.Join('|', Watched.Select(name => new FileInfo(Path.Combine(run.Root, name)) is { Exists: true } f
            ? $"{f.Length}@{f.LastWriteTimeUtc.Ticks}" : "-")) + (RunFolderLock.IsHeld(run.Root) ? "|held" : "");

    public static RunSnapshot Read(RunLocation run)
    {
        var held = RunFolderLock.IsHeld(run.Root);
        try
        {
            var manifest = RunManifestFile.Parse(Text(run, RunManifestFile.FileName) ?? throw new UserInputException($"{RunManifestFile.FileName} is gone"));
            var trials = RunFolder.TrialsOf(run.Root, manifest);
            var rows = Text(run, RunFiles.TrialsTable) is { } trialsCsv
                ? ResultsCsv.ParseTrialsInFull(CsvTable.Parse(Path.Combine(run.Root, RunFiles.TrialsTable), WholeLines(trialsCsv))) : [];
            var epochs = Text(run, RunFiles.EpochsTable) is { } epochsCsv
                ? ResultsCsv.ParseEpochsInFull(CsvTable.Parse(Path.Combine(run.Root, RunFiles.EpochsTable), WholeLines(epochsCsv))) : [];
            var report = File.Exists(Path.Combine(run.Root, ReportFile));
            var written = Watched.Skip(1).Select(name => new FileInfo(Path.Combine(run.Root, name)))
                .Where(f => f.Exists).Select(f => (DateTimeOffset?)new DateTimeOffset(f.LastWriteTimeUtc, TimeSpan.Zero)).Max();
            return new RunSnapshot(run, manifest, trials, rows, epochs, held, report, written, null);
        }
        catch (Exception e) when (e is UserInputException or IOException or UnauthorizedAccessException or System.Text.Json.JsonException)
        {
            return new RunSnapshot(run, null, [], [], [], held, false, null, e.Message.ReplaceLineEndings(" "));
        }
    }

    /// <summary>The run's file as text; null when it does not exist; a refused one is the run's problem.</summary>
    static string? Text(RunLocation run, string name) =>
        RunFolderFile.TryReadText(run.Root, Path.Combine(run.Root, name), out var text, out var why) switch
        {
            RunFolderFile.Outcome.Read => text,
            RunFolderFile.Outcome.Missing => null,
            _ => throw new UserInputException($"{name} is not read: {why}"),
        };

    /// <summary>The text up to its last line break: a line still being appended (or torn by a kill) is not a row yet.</summary>
    static string WholeLines(string text) => text.LastIndexOf('\n') is var end and >= 0 ? text[..(end + 1)] : text;

    /// <summary>The board as the files tell it (<see cref="RunFromFiles"/>).</summary>
    public IReadOnlyList<BoardEntry> Board() => RunFromFiles.Board(Trials, Rows, Epochs, Held);

    /// <summary>"running" while a process holds the folder, "finished" when every trial has its row, else "stopped";
    /// "unreadable" with a <see cref="Problem"/>.</summary>
    public string State =>
        Problem is not null ? "unreadable"
        : Held ? "running"
        : Rows.Select(r => r.TrialId).ToHashSet() is var done && Trials.All(t => done.Contains(t.Key.Id)) ? "finished"
        : "stopped";
}
