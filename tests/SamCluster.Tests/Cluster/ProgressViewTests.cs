using SamCluster.Coordinator.Lifecycle;
using SamCluster.Coordinator.Observers;
using SamCluster.RunStore;
using SamCluster.Messages;
using Xunit;
using SamCluster.Coordinator.Logging;

namespace SamCluster.Tests.Cluster;

/// <summary>The progress line: again every 30 s while trials run or wait (a sign of life), but a finished grid kept up
/// by --stay says its last line once, not every 30 s for as long as it stays.</summary>
public sealed class ProgressViewTests : IDisposable
{
    readonly RunFolder _folder = ClusterFixtures.TempRunFolder();
    DateTime _now = new(2026, 11, 25, 12, 0, 0, DateTimeKind.Utc);

    public void Dispose()
    {
        _folder.Dispose();
        Directory.Delete(_folder.Root, recursive: true);
    }

    static readonly TrialSpec Spec = ClusterFixtures.Trial("sgd", 1);

    static RunView Running() =>
        new([BoardEntry.New(Spec) with { HandOut = new HandOut("w0@n1/cpu#1", HandOutStage.Running, 1, DateTimeOffset.MaxValue) }], 1,
            TimeSpan.FromMinutes(2));

    static RunView Finished() => new([BoardEntry.New(Spec) with { Completed = true }], 1, TimeSpan.Zero);

    int ProgressLines(Action<ProgressView> ticks)
    {
        using (var log = new RunLog(_folder, console: false))
            ticks(new ProgressView(log, () => _now));
        return File.ReadLines(_folder.EventLog).Count(l => l.Contains("Progress: "));
    }

    [Fact]
    public void An_unchanged_line_comes_again_after_30_s_while_a_trial_runs()
    {
        var lines = ProgressLines(view =>
        {
            view.OnTick(Running());
            _now += TimeSpan.FromSeconds(10);
            view.OnTick(Running());   // unchanged, too soon
            _now += TimeSpan.FromSeconds(25);
            view.OnTick(Running());   // unchanged, 35 s on: a sign of life
        });
        Assert.Equal(2, lines);
    }

    [Fact]
    public void A_finished_grid_says_its_last_line_once()
    {
        var lines = ProgressLines(view =>
        {
            view.OnAllFinished(Finished());
            for (var minute = 1; minute <= 60; minute++)
            {
                _now += TimeSpan.FromMinutes(1);
                view.OnTick(Finished());
            }
        });
        Assert.Equal(1, lines);
    }
}
