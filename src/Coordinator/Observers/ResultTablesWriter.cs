using SamCluster.Coordinator.Lifecycle;
using SamCluster.Reporting;
using SamCluster.RunStore;
using SamCluster.Messages;

namespace SamCluster.Coordinator.Observers;

/// <summary>Keeps trials.csv equal to the finished trials: written whole (atomically) on start and whenever a trial
/// finishes, so each trial appears exactly once whatever was retried, resent or resumed. (epochs.csv grows per epoch:
/// <see cref="EpochsTableWriter"/>.)</summary>
public sealed class ResultTablesWriter(RunFolder folder) : IRunObserver
{
    readonly Dictionary<string, FinishedTrial> _finished = new();

    public void OnStart(RunView view)
    {
        foreach (var f in view.Finished) _finished[f.State.TrialId] = f;
        Write();
    }

    public void OnDecision(Messages.TrialSpec spec, SchedulerAction decision, Messages.TrialState state)
    {
        if (decision is not Finish finish) return;
        _finished[state.TrialId] = new FinishedTrial(spec, state, finish.Completed);
        Write();
    }

    void Write()
    {
        DurableFile.WriteAllText(folder.TrialsCsv, ResultTables.TrialsCsv(_finished.Values));
    }
}
