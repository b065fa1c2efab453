using SamCluster.Coordinator.Lifecycle;
using SamCluster.Messages;
using SamCluster.Reporting;

namespace SamCluster.Coordinator.Observers;

/// <summary>
/// The coordinator's rows of trials.csv (one per finished trial, rewritten whole from the coordinator's state whenever a
/// trial finishes, so a trial appears exactly once whatever was retried or resent) and epochs.csv (one per epoch of every
/// attempt, with its attempt number: rebuilt from the journal on start, then appended to as each epoch is journaled),
/// written through <see cref="ResultsCsv"/>. cell holds the recipe values a grid with axes varies ("lr=0.01,rho=0.1",
/// empty otherwise).
/// </summary>
public static class ResultTables
{
    /// <summary>trials.csv of the board's finished trials, by trial id.</summary>
    public static string TrialsCsv(IEnumerable<BoardEntry> board) => ResultsCsv.WriteTrials(TrialRows(board));

    /// <summary>epochs.csv as the journal has it: every epoch of every attempt (a failed or superseded attempt's too),
    /// by trial id, attempt and epoch.</summary>
    public static string EpochsCsv(IEnumerable<BoardEntry> board) => ResultsCsv.WriteEpochs(EpochRows(board));

    /// <summary>What the report is built from at the end of a grid: the rows of trials.csv and epochs.csv, from the board
    /// itself rather than read back from the files just written.</summary>
    public static ReportRows ReportRows(IReadOnlyList<BoardEntry> board) => new(TrialRows(board).ToList(), EpochRows(board).ToList());

    static IEnumerable<TrialResultRow> TrialRows(IEnumerable<BoardEntry> board) =>
        board.Where(t => t.IsFinished).OrderBy(t => t.Id, StringComparer.Ordinal).Select(TrialRow);

    static IEnumerable<EpochResultRow> EpochRows(IEnumerable<BoardEntry> board) =>
        from t in board.OrderBy(t => t.Id, StringComparer.Ordinal)
        from attempt in t.State.Attempts.OrderBy(a => a.Number)
        from e in attempt.Epochs.OrderBy(e => e.Epoch)
        select EpochRow(t.Spec.Key, attempt.Number, e);

    /// <summary>One line of epochs.csv, with its line break.</summary>
    public static string EpochLine(TrialKey key, int attempt, EpochMetrics epoch) => ResultsCsv.EpochLine(EpochRow(key, attempt, epoch));

    static TrialResultRow TrialRow(BoardEntry t)
    {
        var (k, s) = (t.Spec.Key, t.State.Summary);
        return new TrialResultRow(k.Dataset, k.Model, k.Optimizer, k.Repeat, t.Completed == true, s?.TrainAcc, s?.TestAcc,
            s?.Seconds ?? t.State.Epochs.Sum(e => e.Seconds), s?.Epochs ?? t.State.Epochs.Count,
            t.Completed == true ? null : t.State.LastFailure, Line: 0, k.Cell)
        {
            Seed = t.Spec.Seed, TrainLoss = s?.TrainLoss, TestLoss = s?.TestLoss, Node = t.State.Node, Device = t.State.Device,
            Attempts = t.State.Attempt,
            DeviceModel = t.State.Conditions?.DeviceModel, Threads = t.State.Conditions?.Threads, Concurrent = t.State.Conditions?.Concurrent,
            ImagesPerSecond = ImagesPerSecond(t.State),
        };
    }

    /// <summary>The mean training throughput of the epochs the trial's last attempt ran itself (those it resumed past
    /// were measured under its predecessor's conditions); null when it ran none.</summary>
    static double? ImagesPerSecond(TrialState state) =>
        state.Current is { Epochs: { Count: > 0 } own } && own.Any(e => e.ImagesPerSecond > 0)
            ? own.Where(e => e.ImagesPerSecond > 0).Average(e => e.ImagesPerSecond) : null;

    static EpochResultRow EpochRow(TrialKey k, int attempt, EpochMetrics e) =>
        new(k.Dataset, k.Model, k.Optimizer, k.Repeat, e.Epoch, e.TrainAcc, e.TestAcc, e.TrainLoss, e.TestLoss, Line: 0, k.Cell,
            e.LearningRate) { Seconds = e.Seconds, ImagesPerSecond = e.ImagesPerSecond, Attempt = attempt };
}
