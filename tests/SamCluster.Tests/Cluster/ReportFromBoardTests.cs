using SamCluster.Coordinator.Lifecycle;
using SamCluster.Coordinator.Observers;
using SamCluster.Messages;
using SamCluster.Reporting;
using SamCluster.RunStore;
using Xunit;

namespace SamCluster.Tests.Cluster;

/// <summary>The grid's report is built from the board's rows, not from the tables the same process just wrote: the two
/// must give the same report. A run with a resumed attempt, a retried failure, a trial failed for good and epochs
/// journaled interleaved across trials, written by the real table writers, then reported both ways.</summary>
public sealed class ReportFromBoardTests : IDisposable
{
    readonly RunFolder _folder = ClusterFixtures.TempRunFolder();
    readonly string _fromMemory = Directory.CreateTempSubdirectory("samcluster-report-memory-").FullName;

    sealed class Run(RunFolder folder)
    {
        readonly Dictionary<string, BoardEntry> _entries = new();
        readonly List<string> _order = [];
        readonly EpochsTableWriter _epochs = new(folder);
        readonly ResultTablesWriter _trials = new(folder);

        public IReadOnlyList<BoardEntry> Board => _order.Select(id => _entries[id]).ToList();

        public void Add(TrialSpec spec)
        {
            _entries[spec.Key.Id] = BoardEntry.New(spec);
            _order.Add(spec.Key.Id);
        }

        public void Start() => _epochs.OnStart(new RunView(Board, 2, null));

        public void Event(TrialSpec spec, ITrialEvent e)
        {
            var entry = _entries[spec.Key.Id] = _entries[spec.Key.Id] with { State = TrialDecider.Apply(_entries[spec.Key.Id].State, e) };
            _epochs.OnTrialEvent(entry, e, Board);
        }

        public void Finish(TrialSpec spec, bool completed)
        {
            var entry = _entries[spec.Key.Id] = _entries[spec.Key.Id] with { Completed = completed };
            _trials.OnDecision(entry, new Finish(spec.Key.Id, completed), Board);
        }
    }

    static EpochMetrics Epoch(int epoch, double shift) =>
        new(epoch, 1.0 / (epoch + shift), 60 + 10 * epoch + shift, 1.2 / (epoch + shift), 50 + 8 * epoch + shift, 0.001 / epoch, 1.5, 100 + shift);

    static void Attempt(Run run, TrialSpec spec, int attempt, CheckpointRef? from, IEnumerable<int> epochs, double shift)
    {
        var id = spec.Key.Id;
        run.Event(spec, new AttemptStarted(id, attempt, "w0@n/cpu", "n", "cpu", DateTimeOffset.UnixEpoch));
        run.Event(spec, new AttemptAccepted(id, attempt));
        run.Event(spec, new AttemptResumed(id, attempt, from, ""));
        foreach (var e in epochs)
        {
            run.Event(spec, new EpochRecorded(id, attempt, Epoch(e, shift)));
            run.Event(spec, new CheckpointRecorded(id, attempt, new CheckpointRef(attempt, e, $"{id}/a{attempt}e{e}", "00")));
        }
    }

    [Fact]
    public void The_report_from_the_board_is_the_report_from_the_tables_it_wrote()
    {
        var run = new Run(_folder);
        var trials = new[] { "sgd", "sam" }.SelectMany(o => Enumerable.Range(1, 3).Select(r => ClusterFixtures.Trial(o, r, epochs: 3))).ToList();
        foreach (var t in trials) run.Add(t);
        run.Start();

        // Epochs of different trials journaled in turn, as several workers report them.
        for (var epoch = 1; epoch <= 3; epoch++)
            foreach (var (t, i) in trials.Select((t, i) => (t, i)).Where(x => x.t.Key.Repeat != 3 || x.t.Key.Optimizer == "sgd"))
            {
                if (epoch == 1) Attempt(run, t, 1, null, [], i);
                run.Event(t, new EpochRecorded(t.Key.Id, 1, Epoch(epoch, i)));
            }
        foreach (var t in trials.Where(t => t.Key.Repeat != 3 || t.Key.Optimizer == "sgd"))
        {
            run.Event(t, new TrialCompleted(t.Key.Id, 1, TrialSummary.From(Enumerable.Range(1, 3).Select(e => Epoch(e, trials.IndexOf(t))).ToList()), null));
            run.Finish(t, completed: true);
        }
        // sam/3: attempt 1 dies after epoch 2, attempt 2 resumes from its epoch-1 checkpoint and fails, attempt 3 fails
        // at once: failed for good, with epochs of three attempts in the tables.
        var lost = trials.Single(t => t.Key.Optimizer == "sam" && t.Key.Repeat == 3);
        Attempt(run, lost, 1, null, [1, 2], 7);
        run.Event(lost, new AttemptReleased(lost.Key.Id, 1, "worker lost"));
        Attempt(run, lost, 2, new CheckpointRef(1, 1, $"{lost.Key.Id}/a1e1", "00"), [2, 3], 8);
        run.Event(lost, new AttemptFailed(lost.Key.Id, 2, "NaN loss, at epoch 3"));
        Attempt(run, lost, 3, null, [], 9);
        run.Event(lost, new AttemptFailed(lost.Key.Id, 3, "NaN loss"));
        run.Finish(lost, completed: false);

        var options = new ReportOptions();
        var fromFiles = RunReport.WriteAll(_folder.Root, RunReport.ReadFolder(_folder.Root), options);
        var fromBoard = RunReport.WriteAll(_fromMemory, ResultTables.ReportRows(run.Board), options);

        Assert.Equal(MarkdownReport.Write(fromFiles), MarkdownReport.Write(fromBoard));
        foreach (var file in new[] { RunReport.Markdown, RunReport.Csv, RunReport.Json, "curves/fashion-mnist_resnet18.png", "curves/test_accuracy.png" })
            Assert.True(File.ReadAllBytes(Path.Combine(_folder.Root, file)).SequenceEqual(File.ReadAllBytes(Path.Combine(_fromMemory, file))),
                $"{file} differs between the report from the tables and the one from the board");
        Assert.Contains("NaN loss", File.ReadAllText(Path.Combine(_fromMemory, RunReport.Markdown)));
    }

    public void Dispose()
    {
        _folder.Dispose();
        Directory.Delete(_folder.Root, recursive: true);
        Directory.Delete(_fromMemory, recursive: true);
    }
}
