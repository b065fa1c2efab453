using SamCluster.Coordinator.Lifecycle;
using SamCluster.Reporting;
using SamCluster.RunStore;
using SamCluster.Messages;

namespace SamCluster.Coordinator.Observers;

/// <summary>
/// epochs.csv grows as the run does: each epoch's row is appended once its entity has journaled it, so curves can be
/// drawn (and the table read) while trials still run, and a failed attempt's epochs stay with their attempt number.
/// On start the file is rebuilt from the journal, which repairs a line torn by a kill and any row appended twice or
/// never: the journal is the record, the table its view.
/// </summary>
public sealed class EpochsTableWriter(RunFolder folder) : IRunObserver
{
    public void OnStart(RunView view) =>
        DurableFile.WriteAllText(folder.EpochsCsv, ResultTables.EpochsCsv(view.Trials));

    public void OnTrialEvent(BoardEntry trial, ITrialEvent e, IReadOnlyList<BoardEntry> board)
    {
        if (e is not EpochRecorded epoch) return;
        var row = System.Text.Encoding.UTF8.GetBytes(ResultTables.EpochLine(trial.Spec.Key, epoch.Attempt, epoch.Metrics));
        try
        {
            // One write of the whole line, flushed: a kill can tear only the last line, which the next start repairs.
            using var file = new FileStream(folder.EpochsCsv, FileMode.Append, FileAccess.Write, FileShare.Read);
            file.Write(row);
            file.Flush(flushToDisk: true);
        }
        catch (IOException error) when (DiskFull.Wrap(error, folder.EpochsCsv) is { } diskFull)
        {
            throw diskFull;
        }
    }
}
