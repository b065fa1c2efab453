using SamCluster.Coordinator.Lifecycle;
using SamCluster.Coordinator.LiveView;
using SamCluster.Messages;
using SamCluster.Tests.Cluster;

namespace SamCluster.Tests.LiveView;

/// <summary>A grid of SGD and SAM × 2 repeats (3 epochs each) fed to a <see cref="LiveRun"/> change by change, as the
/// grid coordinator would: each event folded into the trial's state by the real decider, hand-outs and outcomes set on
/// the trial's board entry as the scheduler sets them, and the board passed along with each change.</summary>
public sealed class SyntheticRun
{
    public static readonly TrialSpec[] Trials =
        [ClusterFixtures.Trial("sgd", 1, epochs: 3), ClusterFixtures.Trial("sam", 1, epochs: 3), ClusterFixtures.Trial("sgd", 2, epochs: 3), ClusterFixtures.Trial("sam", 2, epochs: 3)];

    readonly BoardEntry[] _board = Trials.Select(BoardEntry.New).ToArray();

    public SyntheticRun(string reportFile) => Live = new LiveRun("synthetic.yaml → /tmp/run", Trials, reportFile);

    public LiveRun Live { get; }

    public TrialState State(TrialSpec trial) => Entry(trial).State;

    public void Start(int workers = 2) => Live.OnStart(new RunView(_board.ToList(), workers, null));

    public void Event(TrialSpec trial, ITrialEvent e)
    {
        var entry = Set(Entry(trial) with { State = TrialDecider.Apply(Entry(trial).State, e) });
        Live.OnTrialEvent(entry, e, _board.ToList());
    }

    public void Begin(TrialSpec trial, int attempt, string node = "node-1")
    {
        Set(Entry(trial) with { HandOut = new HandOut($"w0@{node}/cpu#1", HandOutStage.Running, attempt, DateTimeOffset.MaxValue) });
        Event(trial, new AttemptStarted(trial.Key.Id, attempt, $"w0@{node}/cpu", node, "cpu", DateTimeOffset.UnixEpoch));
        Event(trial, new AttemptAccepted(trial.Key.Id, attempt));
    }

    public void Epoch(TrialSpec trial, int attempt, int epoch, double testAcc = 80) =>
        Event(trial, new EpochRecorded(trial.Key.Id, attempt, ClusterFixtures.Epoch(epoch, testAcc)));

    /// <summary>The attempt fails; the scheduler puts the trial back in the queue (a retry is left).</summary>
    public void Fail(TrialSpec trial, int attempt, string reason)
    {
        Event(trial, new AttemptFailed(trial.Key.Id, attempt, reason));
        Decide(trial, new Retry(trial.Key.Id, State(trial).Failures), Entry(trial) with { HandOut = null });
    }

    public void Complete(TrialSpec trial, int attempt)
    {
        var summary = TrialSummary.From(State(trial).Epochs);
        Event(trial, new TrialCompleted(trial.Key.Id, attempt, summary, null));
        Decide(trial, new Finish(trial.Key.Id, Completed: true), Entry(trial) with { HandOut = null, Completed = true });
    }

    public void GiveUp(TrialSpec trial) =>
        Decide(trial, new Finish(trial.Key.Id, Completed: false), Entry(trial) with { HandOut = null, Completed = false });

    void Decide(TrialSpec trial, SchedulerAction decision, BoardEntry after) => Live.OnDecision(Set(after), decision, _board.ToList());

    BoardEntry Entry(TrialSpec trial) => _board[Array.FindIndex(Trials, t => t.Key.Id == trial.Key.Id)];

    BoardEntry Set(BoardEntry entry) => _board[Array.FindIndex(Trials, t => t.Key.Id == entry.Id)] = entry;
}
