using SamCluster.Messages;

namespace SamCluster.Reporting;

/// <summary>One row of trials.csv. Only the minimal columns are required; the rest may be absent (null).</summary>
public sealed record TrialRow(
    string Dataset,
    string Model,
    string Optimizer,
    int Repeat,
    bool Completed,
    double? TrainAcc,
    double? TestAcc,
    double? Seconds,
    int? Epochs,
    string? Reason,
    int Line,
    string? Cell = null)
{
    public string TrialId => new TrialKey(Dataset, Model, Optimizer, Repeat, Cell).Id;
}

/// <summary>One row of epochs.csv (accuracies in percent).</summary>
public sealed record EpochRow(
    string Dataset,
    string Model,
    string Optimizer,
    int Repeat,
    int Epoch,
    double TrainAcc,
    double TestAcc,
    double? TrainLoss,
    double? TestLoss,
    int Line,
    string? Cell = null,
    double? LearningRate = null);

/// <summary>Reads the coordinator's trials.csv and epochs.csv.</summary>
public static class RunFiles
{
    public const string TrialsFile = "trials.csv", EpochsFile = "epochs.csv";

    static readonly string[] TrialKeyColumns = ["dataset", "model", "optimizer", "repeat"];

    public static IReadOnlyList<TrialRow> ReadTrials(string path) => ParseTrials(CsvTable.Read(path));

    public static IReadOnlyList<TrialRow> ParseTrials(CsvTable table)
    {
        table.Require([.. TrialKeyColumns, "train_acc", "test_acc", "seconds"]);
        var rows = new List<TrialRow>(table.Rows.Count);
        foreach (var row in table.Rows)
        {
            var status = row.OptionalText("status");
            var completed = status is null || status.Length == 0 || status.Equals("completed", StringComparison.OrdinalIgnoreCase);
            if (!completed && !status!.Equals("failed", StringComparison.OrdinalIgnoreCase))
                throw new UserInputException($"{table.Path}:{row.Line}: column 'status' must be 'completed' or 'failed', got '{status}'");
            // A failed trial may have empty figures; a completed one must have all three.
            rows.Add(new TrialRow(
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
    static string? Cell(CsvRow row) => row.OptionalText("cell") is { Length: > 0 } cell ? cell : null;

    public static IReadOnlyList<EpochRow> ReadEpochs(string path) => ParseEpochs(CsvTable.Read(path));

    public static IReadOnlyList<EpochRow> ParseEpochs(CsvTable table)
    {
        table.Require([.. TrialKeyColumns, "epoch", "train_acc", "test_acc"]);
        return table.Rows.Select(row => new EpochRow(
            row.NonEmpty("dataset"), row.NonEmpty("model"), row.NonEmpty("optimizer").ToLowerInvariant(), row.Integer("repeat", min: 0),
            row.Integer("epoch", min: 1), row.Number("train_acc", 0, 100), row.Number("test_acc", 0, 100),
            row.OptionalNumber("train_loss", 0, double.PositiveInfinity), row.OptionalNumber("test_loss", 0, double.PositiveInfinity), row.Line,
            Cell(row), row.OptionalNumber("lr", 0, double.PositiveInfinity))).ToList();
    }
}
