using System.Globalization;
using CsvHelper;
using SamCluster.Messages;

namespace SamCluster.Reporting;

/// <summary>
/// The run's result tables, trials.csv and epochs.csv, to and from their rows: the one place their columns, number
/// format and reading rules live (the coordinator writes them through it, the report reads them through it).
/// <para>Written: every column, in the order of <see cref="TrialsHeader"/> and <see cref="EpochsHeader"/> (trials.csv then
/// what each trial's time was measured under, where any row says it: device_model, threads, concurrent, images_per_second); numbers in
/// round-trip form ("R", invariant culture); a line break in a text cell (a failure's reason) written as a space, so a
/// row is one line — epochs.csv grows by appended lines, and a killed append tears only its last one.</para>
/// <para>Read: only the key and figure columns are required, in any order (a trials.csv can be made by hand); each cell
/// is checked, naming file, line and column; the columns the report does not use are left null (node, device and the
/// time's conditions are read where present; the InFull readers read the rest for `serve`).</para>
/// </summary>
public static class ResultsCsv
{
    const string Completed = "completed", Failed = "failed";

    static readonly string[] TrialKeyColumns = ["dataset", "model", "optimizer", "repeat"];

    // ---- writing ----------------------------------------------------------------------------------------------------

    // Each table's columns in their order, and how a row's cell is written: numbers in round-trip form, text as it is.
    static readonly (string Name, Func<TrialResultRow, string?> Cell)[] TrialColumns =
    [
        ("dataset", r => r.Dataset), ("model", r => r.Model), ("optimizer", r => r.Optimizer), ("repeat", r => Integer(r.Repeat)),
        ("seed", r => Integer(r.Seed)), ("status", r => r.Completed ? Completed : Failed), ("epochs", r => Integer(r.Epochs)),
        ("train_acc", r => Number(r.TrainAcc)), ("test_acc", r => Number(r.TestAcc)), ("train_loss", r => Number(r.TrainLoss)),
        ("test_loss", r => Number(r.TestLoss)), ("seconds", r => Number(r.Seconds)), ("node", r => r.Node), ("device", r => r.Device),
        ("attempts", r => Integer(r.Attempts)), ("reason", r => r.Reason), ("cell", r => r.Cell),
    ];

    /// <summary>The columns of what a trial's time was measured under, after every other: written when a row has any of
    /// them (a run whose nodes report them), so a table of rows that never had them keeps its columns as before.</summary>
    static readonly (string Name, Func<TrialResultRow, string?> Cell)[] ConditionColumns =
    [
        ("device_model", r => r.DeviceModel), ("threads", r => Integer(r.Threads)), ("concurrent", r => Integer(r.Concurrent)),
        ("images_per_second", r => Number(r.ImagesPerSecond)),
    ];

    static bool HasConditions(TrialResultRow r) => r.DeviceModel is not null || r.Threads is not null || r.Concurrent is not null || r.ImagesPerSecond is not null;

    static readonly (string Name, Func<EpochResultRow, string?> Cell)[] EpochColumns =
    [
        ("dataset", e => e.Dataset), ("model", e => e.Model), ("optimizer", e => e.Optimizer), ("repeat", e => Integer(e.Repeat)),
        ("epoch", e => Integer(e.Epoch)), ("train_loss", e => Number(e.TrainLoss)), ("train_acc", e => Number(e.TrainAcc)),
        ("test_loss", e => Number(e.TestLoss)), ("test_acc", e => Number(e.TestAcc)), ("lr", e => Number(e.LearningRate)),
        ("seconds", e => Number(e.Seconds)), ("images_per_second", e => Number(e.ImagesPerSecond)), ("cell", e => e.Cell),
        ("attempt", e => Integer(e.Attempt)),
    ];

    public static readonly string TrialsHeader = string.Join(',', TrialColumns.Select(c => c.Name));

    public static readonly string EpochsHeader = string.Join(',', EpochColumns.Select(c => c.Name));

    /// <summary>trials.csv: the header, then the rows in the order given.</summary>
    public static string WriteTrials(IEnumerable<TrialResultRow> rows)
    {
        var list = rows as IReadOnlyCollection<TrialResultRow> ?? rows.ToList();
        return Write(list.Any(HasConditions) ? [.. TrialColumns, .. ConditionColumns] : TrialColumns, list, withHeader: true);
    }

    /// <summary>epochs.csv: the header, then the rows in the order given.</summary>
    public static string WriteEpochs(IEnumerable<EpochResultRow> rows) => Write(EpochColumns, rows, withHeader: true);

    /// <summary>One line of epochs.csv, with its line break, to append.</summary>
    public static string EpochLine(EpochResultRow row) => Write(EpochColumns, [row], withHeader: false);

    static string Write<TRow>((string Name, Func<TRow, string?> Cell)[] columns, IEnumerable<TRow> rows, bool withHeader) =>
        CsvText.Write(csv =>
        {
            if (withHeader) csv.WriteRecord(columns.Select(c => c.Name).ToArray());
            foreach (var row in rows)
            {
                foreach (var column in columns) WriteCell(csv, column.Cell(row));
                csv.EndRecord();
            }
        });

    /// <summary>A cell on one line: a line break becomes a space (the cell still quoted, as a cell that held one always
    /// was).</summary>
    static void WriteCell(CsvWriter csv, string? text)
    {
        if (string.IsNullOrEmpty(text) || text.AsSpan().IndexOfAny('\r', '\n') < 0)
            csv.WriteField(text ?? "");
        else
            csv.WriteField(text.Replace('\r', ' ').Replace('\n', ' '), CsvQuoting.Always);
    }

    static string? Number(double? value) => value?.ToString("R", CultureInfo.InvariantCulture);

    static string? Integer(long? value) => value?.ToString(CultureInfo.InvariantCulture);

    // ---- reading ----------------------------------------------------------------------------------------------------

    public static IReadOnlyList<TrialResultRow> ReadTrials(string path) => ParseTrials(CsvTable.Read(path));

    public static IReadOnlyList<TrialResultRow> ParseTrials(CsvTable table)
    {
        table.Require([.. TrialKeyColumns, "train_acc", "test_acc", "seconds"]);
        var rows = new List<TrialResultRow>(table.Rows.Count);
        foreach (var row in table.Rows)
        {
            var status = row.OptionalText("status");
            var completed = status is null || status.Length == 0 || status.Equals(Completed, StringComparison.OrdinalIgnoreCase);
            if (!completed && !status!.Equals(Failed, StringComparison.OrdinalIgnoreCase))
                throw new UserInputException($"{table.Path}:{row.Line}: column 'status' must be 'completed' or 'failed', got '{status}'");
            // A failed trial may have empty figures; a completed one must have all three.
            rows.Add(new TrialResultRow(
                row.NonEmpty("dataset"), row.NonEmpty("model"), row.NonEmpty("optimizer").ToLowerInvariant(), row.Integer("repeat", min: 0),
                completed,
                completed ? row.Number("train_acc", 0, 100) : row.OptionalNumber("train_acc", 0, 100),
                completed ? row.Number("test_acc", 0, 100) : row.OptionalNumber("test_acc", 0, 100),
                completed ? row.Number("seconds", 0, double.PositiveInfinity) : row.OptionalNumber("seconds", 0, double.PositiveInfinity),
                row.Has("epochs") && row.Text("epochs").Length > 0 ? row.Integer("epochs", min: 0) : null,
                row.OptionalText("reason"),
                row.Line,
                Cell(row))
            {
                // Where a trial ran: the report checks that a comparison's times were measured alike (absent: not checked).
                Node = row.OptionalText("node") is { Length: > 0 } node ? node : null,
                Device = row.OptionalText("device") is { Length: > 0 } device ? device : null,
                DeviceModel = row.OptionalText("device_model") is { Length: > 0 } model ? model : null,
                Threads = OptionalInteger(row, "threads", min: 1),
                Concurrent = OptionalInteger(row, "concurrent", min: 1),
                ImagesPerSecond = row.OptionalNumber("images_per_second", 0, double.PositiveInfinity),
            });
        }
        return rows;
    }

    static int? OptionalInteger(CsvTableRow row, string column, int min) =>
        row.OptionalText(column) is { Length: > 0 } ? row.Integer(column, min: min) : null;

    /// <summary>The ids of the trials a trials.csv holds (only the key columns are read).</summary>
    public static IReadOnlySet<string> ReadTrialIds(string path)
    {
        var table = CsvTable.Read(path);
        table.Require(TrialKeyColumns);
        return table.Rows.Select(row => new TrialKey(row.NonEmpty("dataset"), row.NonEmpty("model"),
            row.NonEmpty("optimizer").ToLowerInvariant(), row.Integer("repeat"), Cell(row)).Id).ToHashSet();
    }

    /// <summary>The row's recipe cell ("lr=0.01,rho=0.1"); null where the table has no cell column or it is empty.</summary>
    static string? Cell(CsvTableRow row) => row.OptionalText("cell") is { Length: > 0 } ? row.NonEmpty("cell") : null;

    public static IReadOnlyList<EpochResultRow> ReadEpochs(string path) => ParseEpochs(CsvTable.Read(path));

    public static IReadOnlyList<EpochResultRow> ParseEpochs(CsvTable table)
    {
        table.Require([.. TrialKeyColumns, "epoch", "train_acc", "test_acc"]);
        return table.Rows.Select(row => new EpochResultRow(
            row.NonEmpty("dataset"), row.NonEmpty("model"), row.NonEmpty("optimizer").ToLowerInvariant(), row.Integer("repeat", min: 0),
            row.Integer("epoch", min: 1), row.Number("train_acc", 0, 100), row.Number("test_acc", 0, 100),
            row.OptionalNumber("train_loss", 0, double.PositiveInfinity), row.OptionalNumber("test_loss", 0, double.PositiveInfinity), row.Line,
            Cell(row), row.OptionalNumber("lr", 0, double.PositiveInfinity))).ToList();
    }

    /// <summary>As <see cref="ParseEpochs"/>, with the columns the report leaves out read too where present and readable
    /// (seconds, images_per_second, attempt): `serve` draws a run's curves from them. Leniently: a cell the report never
    /// checked does not refuse the table.</summary>
    public static IReadOnlyList<EpochResultRow> ParseEpochsInFull(CsvTable table) =>
        ParseEpochs(table).Zip(table.Rows, (e, row) => e with
        {
            Seconds = Lenient(row, "seconds"),
            ImagesPerSecond = Lenient(row, "images_per_second"),
            Attempt = LenientCount(row, "attempt"),
        }).ToList();

    /// <summary>As <see cref="ParseTrials"/>, with the attempts column read too where present and readable (`serve`).</summary>
    public static IReadOnlyList<TrialResultRow> ParseTrialsInFull(CsvTable table) =>
        ParseTrials(table).Zip(table.Rows, (t, row) => t with { Attempts = LenientCount(row, "attempts") }).ToList();

    static int? LenientCount(CsvTableRow row, string column) =>
        row.OptionalText(column) is { } text && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 1 ? n : null;

    static double? Lenient(CsvTableRow row, string column) =>
        row.OptionalText(column) is { } text && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
        && double.IsFinite(value) && value >= 0 ? value : null;
}
