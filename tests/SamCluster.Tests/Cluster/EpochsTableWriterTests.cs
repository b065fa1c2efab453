using SamCluster.Coordinator.Lifecycle;
using SamCluster.Coordinator.Observers;
using SamCluster.Reporting;
using SamCluster.RunStore;
using SamCluster.Messages;
using Xunit;

namespace SamCluster.Tests.Cluster;

/// <summary>epochs.csv grows per epoch, keeps a failed attempt's epochs with their attempt number, and is rebuilt from the
/// journal's states on start: a torn last line is repaired and nothing is duplicated.</summary>
public sealed class EpochsTableWriterTests : IDisposable
{
    readonly RunFolder _folder = ClusterFixtures.TempRunFolder();
    static readonly TrialSpec Spec = ClusterFixtures.Trial("sgd", 1);
    static string Id => Spec.Key.Id;

    /// <summary>Attempt 1 recorded epochs 1-2 and failed; attempt 2 recorded epoch 1.</summary>
    static TrialState Journaled() => TrialDecider.ApplyAll(TrialState.New(Id),
    [
        new AttemptStarted(Id, 1, "w1", "n1", "cpu", DateTimeOffset.UnixEpoch), new AttemptAccepted(Id, 1),
        new EpochRecorded(Id, 1, ClusterFixtures.Epoch(1)), new EpochRecorded(Id, 1, ClusterFixtures.Epoch(2)),
        new AttemptFailed(Id, 1, "out of memory"),
        new AttemptStarted(Id, 2, "w2", "n2", "cpu", DateTimeOffset.UnixEpoch), new AttemptAccepted(Id, 2),
        new EpochRecorded(Id, 2, ClusterFixtures.Epoch(1, testAcc: 81)),
    ]);

    static BoardEntry Entry(TrialState state) => new(Spec, state);

    static RunView View(TrialState state) => new([Entry(state)], 0, null);

    IReadOnlyList<EpochResultRow> Rows() => ResultsCsv.ReadEpochs(_folder.EpochsCsv);

    [Fact]
    public void Each_epoch_is_appended_as_it_is_journaled_with_its_attempt()
    {
        var writer = new EpochsTableWriter(_folder);
        writer.OnStart(View(TrialState.New(Id)));
        Assert.Empty(Rows());
        var state = Journaled();
        writer.OnTrialEvent(Entry(state), new EpochRecorded(Id, 1, ClusterFixtures.Epoch(1)), [Entry(state)]);
        Assert.Single(Rows());
        writer.OnTrialEvent(Entry(state), new EpochRecorded(Id, 1, ClusterFixtures.Epoch(2)), [Entry(state)]);
        writer.OnTrialEvent(Entry(state), new EpochRecorded(Id, 2, ClusterFixtures.Epoch(1, testAcc: 81)), [Entry(state)]);
        var lines = File.ReadAllLines(_folder.EpochsCsv);
        Assert.Equal(ResultsCsv.EpochsHeader, lines[0]);
        Assert.Equal([1, 1, 2], lines.Skip(1).Select(l => int.Parse(l.Split(',')[^1])));   // the attempt column
        Assert.Equal([1, 2, 1], Rows().Select(r => r.Epoch));
    }

    [Fact]
    public void On_start_a_torn_last_line_and_duplicated_rows_are_replaced_by_what_the_journal_holds()
    {
        var state = Journaled();
        var expected = ResultTables.EpochsCsv([Entry(state)]);
        var firstRow = expected.Split('\n')[1];
        // A kill in the middle of an append, after a row was appended twice (say, by a coordinator restarted over it).
        File.WriteAllText(_folder.EpochsCsv, expected + firstRow + "\n" + firstRow[..10]);

        new EpochsTableWriter(_folder).OnStart(View(state));

        Assert.Equal(expected, File.ReadAllText(_folder.EpochsCsv));
        Assert.Equal(3, Rows().Count);
    }

    public void Dispose()
    {
        _folder.Dispose();
        Directory.Delete(_folder.Root, recursive: true);
    }
}
