using SamCluster.Coordinator.Lifecycle;
using SamCluster.Messages;
using SamCluster.Reporting;

namespace SamCluster.Coordinator.Serving;

/// <summary>
/// A run's board as its files tell it, for `serve`: the trials of run.json, each one's outcome from trials.csv and its
/// epochs (every attempt's) from epochs.csv, so the live page and its API can show a finished or running run without its
/// coordinator. What the files do not hold is not made up: a trial with epochs but no row is running only while a
/// process holds the folder (else it waits to be resumed: queued), an attempt's node is known only from trials.csv, a
/// sequential study's waiting and skipped trials read as queued.
/// </summary>
public static class RunFromFiles
{
    /// <param name="trials">The run's trials in grid order (run.json).</param>
    /// <param name="rows">trials.csv's rows (a trial listed twice: its last row).</param>
    /// <param name="epochs">epochs.csv's rows (an epoch listed twice in one attempt: its last row).</param>
    /// <param name="held">A process (a coordinator or `local`) holds the run folder now.</param>
    public static IReadOnlyList<BoardEntry> Board(IReadOnlyList<TrialSpec> trials, IReadOnlyList<TrialResultRow> rows,
        IReadOnlyList<EpochResultRow> epochs, bool held)
    {
        var outcome = new Dictionary<string, TrialResultRow>();
        foreach (var row in rows) outcome[row.TrialId] = row;
        var curves = epochs.GroupBy(e => new TrialKey(e.Dataset, e.Model, e.Optimizer, e.Repeat, e.Cell).Id)
            .ToDictionary(g => g.Key, g => g.ToList());
        return trials.Select(spec => Entry(spec, outcome.GetValueOrDefault(spec.Key.Id), curves.GetValueOrDefault(spec.Key.Id) ?? [], held)).ToList();
    }

    static BoardEntry Entry(TrialSpec spec, TrialResultRow? row, List<EpochResultRow> epochs, bool held)
    {
        var byAttempt = epochs.GroupBy(e => e.Attempt ?? 1)
            .ToDictionary(g => g.Key, g => g.GroupBy(e => e.Epoch).Select(same => same.Last()).OrderBy(e => e.Epoch).Select(Metrics).ToList());
        var attempts = Math.Max(byAttempt.Keys.DefaultIfEmpty(0).Max(), row?.Attempts ?? (row is null ? 0 : 1));
        var records = new List<AttemptRecord>();
        for (var number = 1; number <= attempts; number++)
        {
            var own = byAttempt.GetValueOrDefault(number) ?? [];
            var last = number == attempts;
            var phase = !last ? AttemptPhase.Failed
                : row is null ? (held ? AttemptPhase.Running : AttemptPhase.Released)
                : row.Completed ? AttemptPhase.Completed : AttemptPhase.Failed;
            // An attempt that resumed from a checkpoint starts past epoch 1: its curve begins with the epochs of the
            // newest earlier attempt that reached them, as the journal's history does.
            CheckpointRef? resumedFrom = null;
            if (own.Count > 0 && own[0].Epoch > 1
                && records.LastOrDefault(r => r.Epochs.Count > 0 && HistoryReaches(records, r, own[0].Epoch - 1)) is { } from)
                resumedFrom = new CheckpointRef(from.Number, own[0].Epoch - 1, "", "");
            records.Add(new AttemptRecord(number, WorkerId: "", Node: last ? row?.Node ?? "" : "", Device: last ? row?.Device ?? "" : "",
                phase, Reports: 0, ResumeReported: true, resumedFrom, own, Checkpoint: null,
                Outcome: last && row is { Completed: false } ? row.Reason : null));
        }
        var state = new TrialState(spec.Key.Id, Status(row, records.Count > 0 && held), records, Summary(row), null);
        var running = row is null && held && records.Count > 0;
        return new BoardEntry(spec, state,
            HandOut: running ? new HandOut(state.Node is { Length: > 0 } node ? node : "(from its files)", HandOutStage.Running, records[^1].Number, DateTimeOffset.MaxValue) : null,
            Completed: row?.Completed);
    }

    static bool HistoryReaches(List<AttemptRecord> records, AttemptRecord attempt, int epoch)
    {
        var state = new TrialState("", TrialStatus.Running, records, null, null);
        return state.History(attempt.Number).Any(e => e.Epoch == epoch);
    }

    static TrialStatus Status(TrialResultRow? row, bool running) =>
        row is null ? (running ? TrialStatus.Running : TrialStatus.Queued) : row.Completed ? TrialStatus.Completed : TrialStatus.Failed;

    /// <summary>A completed trial's figures as trials.csv states them (the losses it does not read back are NaN: unknown).</summary>
    static TrialSummary? Summary(TrialResultRow? row) =>
        row is { Completed: true, TrainAcc: { } train, TestAcc: { } test }
            ? new TrialSummary(row.Epochs ?? 0, train, test, row.TrainLoss ?? double.NaN, row.TestLoss ?? double.NaN, row.Seconds ?? double.NaN)
            : null;

    static EpochMetrics Metrics(EpochResultRow e) =>
        new(e.Epoch, e.TrainLoss ?? double.NaN, e.TrainAcc, e.TestLoss ?? double.NaN, e.TestAcc, e.LearningRate ?? double.NaN,
            e.Seconds ?? double.NaN, e.ImagesPerSecond ?? double.NaN);
}
