using SamCluster.Coordinator.Lifecycle;
using SamCluster.Coordinator.LiveView;
using SamCluster.Coordinator.Serving;
using SamCluster.Reporting;
using SamCluster.Tests.Cluster;
using Xunit;

namespace SamCluster.Tests.Serving;

/// <summary><see cref="LiveRun.Replace"/>: a run read again from its files sends the page only what changed.</summary>
public sealed class LiveRunReplaceTests
{
    static readonly Messages.TrialSpec Sgd1 = ClusterFixtures.Trial("sgd", 1, epochs: 3), Sam1 = ClusterFixtures.Trial("sam", 1, epochs: 3);
    static readonly Messages.TrialSpec[] Trials = [Sgd1, Sam1];

    static RunView View(params (Messages.TrialSpec Trial, int Attempt, int Epoch)[] epochs) =>
        new(RunFromFiles.Board(Trials, [], epochs.Select(e => RunFolders.EpochRow(e.Trial, e.Epoch, 70) with { Attempt = e.Attempt }).ToList(), held: true), 0, null);

    static List<LiveMessage> Drain(System.Threading.Channels.ChannelReader<LiveMessage> reader)
    {
        var messages = new List<LiveMessage>();
        while (reader.TryRead(out var m)) messages.Add(m);
        return messages;
    }

    [Fact]
    public void New_epochs_go_one_by_one_a_new_attempt_as_a_whole_curve_and_nothing_when_nothing_changed()
    {
        var live = new LiveRun("t", Trials, "/nowhere/report.json");
        live.Replace(View((Sgd1, 1, 1)), "running", reportReady: false);
        var page = live.Subscribe();
        Assert.Equal(["snapshot"], Drain(page).Select(m => m.Event));

        live.Replace(View((Sgd1, 1, 1)), "running", reportReady: false);
        Assert.Empty(Drain(page));

        live.Replace(View((Sgd1, 1, 1), (Sgd1, 1, 2), (Sgd1, 1, 3)), "running", reportReady: false);
        Assert.Equal(["trial", "epoch", "epoch"], Drain(page).Select(m => m.Event));

        // Attempt 2 starts over from epoch 1: the trial's curve is replaced.
        live.Replace(View((Sgd1, 1, 1), (Sgd1, 1, 2), (Sgd1, 1, 3), (Sgd1, 2, 1)), "running", reportReady: false);
        Assert.Equal(["trial", "epochs"], Drain(page).Select(m => m.Event));

        live.Replace(View((Sgd1, 1, 1), (Sgd1, 1, 2), (Sgd1, 1, 3), (Sgd1, 2, 1)), "stopped", reportReady: true);
        Assert.Equal(["progress", "report"], Drain(page).Select(m => m.Event));
    }
}
