using SamCluster.Coordinator.Lifecycle;
using SamCluster.Reporting;
using SamCluster.RunStore;
using SamCluster.Messages;

namespace SamCluster.Coordinator.Observers;

/// <summary>Keeps trials.csv equal to the board's finished trials: written whole (atomically) on start and whenever a
/// trial finishes, so each trial appears exactly once whatever was retried, resent or resumed. (epochs.csv grows per
/// epoch: <see cref="EpochsTableWriter"/>.)</summary>
public sealed class ResultTablesWriter(RunFolder folder) : IRunObserver
{
    public void OnStart(RunView view) => Write(view.Trials);

    public void OnDecision(BoardEntry trial, SchedulerAction decision, IReadOnlyList<BoardEntry> board)
    {
        if (decision is Finish) Write(board);
    }

    void Write(IReadOnlyList<BoardEntry> board) =>
        DurableFile.WriteAllText(folder.TrialsCsv, ResultTables.TrialsCsv(board));
}
