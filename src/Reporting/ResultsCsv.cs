using System.Globalization;
using CsvHelper;
using SamCluster.Messages;

namespace SamCluster.Reporting;

/// <summary>
/// The run's result tables, trials.csv and epochs.csv, to and from their rows: the one place their columns, number
/// format and reading rules live (the coordinator writes them through it, the report reads them through it).
/// <para>Written: every column, in the order of <see cref="TrialsHeader"/> and <see cref="EpochsHeader"/>; numbers in
/// round-trip form ("R", invariant culture); a line break in a text cell (a failure's reason) written as a space, so a
/// row is one line — epochs.csv grows by appended lines, and a killed append tears only its last one.</para>
/// <para>Read: only the key and figure columns are required, in any order (a trials.csv can be made by hand); each cell
/// is checked, naming file, line and column; the columns the report does not use are left null.</para>
/// </summary>
public static class ResultsCsv
{
    public const string TrialsFile = "trials.csv", EpochsFile = "epochs.csv";

    public const string TrialsHeader =
        "dataset,model,optimizer,repeat,seed,status,epochs,train_acc,test_acc,train_loss,test_loss,seconds,node,device,attempts,reason,cell";

    public const string EpochsHeader =
        "dataset,model,optimizer,repeat,epoch,train_loss,train_acc,test_loss,test_acc,lr,seconds,images_per_second,cell,attempt";

    const string Completed = "completed", Failed = "failed";

    static readonly string[] TrialKeyColumns = ["dataset", "model", "optimizer", "repeat"];

    // ---- writing ----------------------------------------------------------------------------------------------------

    /// <summary>trials.csv: the header, then the rows in the order given.</summary>
    public static string WriteTrials(IEnumerable<TrialResultRow> rows) => CsvText.Write(csv =>
    {
        csv.WriteRecord(TrialsHeader.Split(','));
        foreach (var r in rows)
        {
            Fields(csv, r.Dataset, r.Model, r.Optimizer);
            Number(csv, r.Repeat);
            Number(csv, r.Seed);
            Text(csv, r.Completed ? Completed : Failed);
            Number(csv, r.Epochs);
            Number(csv, r.TrainAcc);
            Number(csv, r.TestAcc);
            Number(csv, r.TrainLoss);
            Number(csv, r.TestLoss);
            Number(csv, r.Seconds);
            Fields(csv, r.Node, r.Device);
            Number(csv, r.Attempts);
            Fields(csv, r.Reason, r.Cell);
            csv.EndRecord();
        }
    });

    /// <summary>epochs.csv: the header, then the rows in the order given.</summary>
    public static string WriteEpochs(IEnumerable<EpochResultRow> rows) => CsvText.Write(csv =>
    {
        csv.WriteRecord(EpochsHeader.Split(','));
        foreach (var row in rows) WriteEpoch(csv, row);
    });

    /// <summary>One line of epochs.csv, with its line break, to append.</summary>
    public static string EpochLine(EpochResultRow row) => CsvText.Write(csv => WriteEpoch(csv, row));

    static void WriteEpoch(CsvWriter csv, EpochResultRow e)
    {
        Fields(csv, e.Dataset, e.Model, e.Optimizer);
        Number(csv, e.Repeat);
        Number(csv, e.Epoch);
        Number(csv, e.TrainLoss);
        Number(csv, e.TrainAcc);
        Number(csv, e.TestLoss);
        Number(csv, e.TestAcc);
        Number(csv, e.LearningRate);
        Number(csv, e.Seconds);
        Number(csv, e.ImagesPerSecond);
        Text(csv, e.Cell);
        Number(csv, e.Attempt);
        csv.EndRecord();
    }

    static void Fields(CsvWriter csv, params ReadOnlySpan<string?> texts)
    {
        foreach (var text in texts) Text(csv, text);
    }

    /// <summary>A text cell on one line: a line break becomes a space (the cell still quoted, as a cell that held one
    /// always was).</summary>
    static void Text(CsvWriter csv, string? text)
    {
        if (string.IsNullOrEmpty(text) || text.AsSpan().IndexOfAny('\r', '\n') < 0)
            csv.WriteField(text ?? "");
        else
            csv.WriteField(text.Replace('\r', ' ').Replace('\n', ' '), CsvQuoting.Always);
    }

    static void Number(CsvWriter csv, double? value) => csv.WriteField(value?.ToString("R", CultureInfo.InvariantCulture) ?? "");

    static void Number(CsvWriter csv, long? value) => csv.WriteField(value?.ToString(CultureInfo.InvariantCulture) ?? "");

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
                Cell(row)));
        }
        return rows;
    }

    /// <summary>The ids of the trials a trials.csv holds (only the key columns are read).</summary>
    public static IReadOnlySet<string> ReadTrialIds(string path)
    {
        var table = CsvTable.Read(path);
        table.Require(TrialKeyColumns);
        return table.Rows.Select(row => new TrialKey(row.NonEmpty("dataset"), row.NonEmpty("model"),
            row.NonEmpty("optimizer").ToLowerInvariant(), row.Integer("repeat"), Cell(row)).Id).ToHashSet();
    }

    /// <summary>The row's recipe cell ("lr=0.01,rho=0.1"); null where the table has no cell column or it is empty.</summary>
    static string? Cell(CsvTableRow row) => row.OptionalText("cell") is { Length: > 0 } cell ? cell : null;

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
}
