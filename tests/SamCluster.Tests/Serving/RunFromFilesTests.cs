using SamCluster.Coordinator.Lifecycle;
using SamCluster.Coordinator.Serving;
using SamCluster.Reporting;
using SamCluster.Tests.Cluster;
using Xunit;

namespace SamCluster.Tests.Serving;

/// <summary>A run's board from its files: trials.csv's outcomes, epochs.csv's attempts (read back in full), and whether a
/// process holds the folder.</summary>
public sealed class RunFromFilesTests
{
    static readonly Messages.TrialSpec Sgd1 = ClusterFixtures.Trial("sgd", 1, epochs: 3), Sam1 = ClusterFixtures.Trial("sam", 1, epochs: 3);

    static IReadOnlyList<EpochResultRow> Epochs(params (Messages.TrialSpec Trial, int Attempt, int Epoch)[] rows) =>
        ResultsCsv.ParseEpochsInFull(CsvTable.Parse("epochs.csv", ResultsCsv.WriteEpochs(rows.Select(r =>
            RunFolders.EpochRow(r.Trial, r.Epoch, 70 + r.Epoch) with { Attempt = r.Attempt, Seconds = 1.5 }))));

    [Fact]
    public void An_attempt_that_resumed_shows_the_curve_its_journal_would_the_earlier_epochs_then_its_own()
    {
        // Attempt 1 reached epoch 2 and was lost; attempt 2 resumed from its checkpoint at epoch 2 and did epoch 3.
        var epochs = Epochs((Sgd1, 1, 1), (Sgd1, 1, 2), (Sgd1, 2, 3));
        Assert.Equal([1, 1, 2], epochs.Select(e => e.Attempt!.Value));
        Assert.All(epochs, e => Assert.Equal(1.5, e.Seconds));
        var sgd = RunFromFiles.Board([Sgd1, Sam1], [], epochs, held: true)[0];
        Assert.Equal(BoardStatus.Running, sgd.Status);
        Assert.Equal(2, sgd.State.Attempt);
        Assert.Equal(2, sgd.State.Attempts.Count);
        Assert.Equal([1, 2, 3], sgd.State.Epochs.Select(e => e.Epoch));
        Assert.Equal(4.5, sgd.State.Epochs.Sum(e => e.Seconds));
    }

    [Fact]
    public void A_trial_with_epochs_but_no_row_is_running_only_while_the_folder_is_held()
    {
        var epochs = Epochs((Sgd1, 1, 1));
        Assert.Equal([BoardStatus.Running, BoardStatus.Queued], RunFromFiles.Board([Sgd1, Sam1], [], epochs, held: true).Select(e => e.Status));
        Assert.Equal([BoardStatus.Queued, BoardStatus.Queued], RunFromFiles.Board([Sgd1, Sam1], [], epochs, held: false).Select(e => e.Status));
    }

    [Fact]
    public void A_row_of_trials_csv_settles_the_trial_completed_or_failed_with_its_reason()
    {
        var rows = ResultsCsv.ParseTrialsInFull(CsvTable.Parse("trials.csv", ResultsCsv.WriteTrials(
        [
            new TrialResultRow("fashion-mnist", "resnet18", "sgd", 1, true, 90, 80, 12, 3, null, 0) { Node = "gpu7", Device = "cuda:0", Attempts = 1 },
            new TrialResultRow("fashion-mnist", "resnet18", "sam", 1, false, null, null, 3, 1, "out of memory", 0) { Attempts = 2 },
        ])));
        var board = RunFromFiles.Board([Sgd1, Sam1], rows, Epochs((Sgd1, 1, 1), (Sgd1, 1, 2), (Sgd1, 1, 3)), held: true);
        Assert.Equal((BoardStatus.Completed, "gpu7", "cuda:0", 12.0), (board[0].Status, board[0].State.Node, board[0].State.Device, board[0].State.Summary!.Seconds));
        Assert.Equal((BoardStatus.Failed, "out of memory", 2), (board[1].Status, board[1].State.LastFailure, board[1].State.Attempts.Count));
    }
}
