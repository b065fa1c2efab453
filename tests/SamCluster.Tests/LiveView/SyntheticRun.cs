using SamCluster.Coordinator.Lifecycle;
using SamCluster.Coordinator.LiveView;
using SamCluster.Messages;
using SamCluster.Tests.Cluster;

namespace SamCluster.Tests.LiveView;

/// <summary>A grid of SGD and SAM × 2 repeats (3 epochs each) fed to a <see cref="LiveRun"/> event by event, as the grid
/// coordinator would: each event folded into the trial's state by the real decider before the observer sees it.</summary>
public sealed class SyntheticRun
{
    public static readonly TrialSpec[] Trials =
        [ClusterFixtures.Trial("sgd", 1, epochs: 3), ClusterFixtures.Trial("sam", 1, epochs: 3), ClusterFixtures.Trial("sgd", 2, epochs: 3), ClusterFixtures.Trial("sam", 2, epochs: 3)];

    readonly Dictionary<string, TrialState> _states = Trials.ToDictionary(t => t.Key.Id, t => TrialState.New(t.Key.Id));

    public SyntheticRun(string reportFile) => Live = new LiveRun("synthetic.yaml → /tmp/run", Trials, reportFile);

    public LiveRun Live { get; }

    public TrialState State(TrialSpec trial) => _states[trial.Key.Id];

    public void Start(int workers = 2) =>
        Live.OnStart(new RunView(Trials.Length, 0, 0, Trials.Length, workers, [], [], 0, null, Trials.Select(t => new TrialView(t, _states[t.Key.Id])).ToList()));

    public void Event(TrialSpec trial, ITrialEvent e)
    {
        var state = _states[trial.Key.Id] = TrialDecider.Apply(_states[trial.Key.Id], e);
        Live.OnTrialEvent(trial, e, state);
    }

    public void Begin(TrialSpec trial, int attempt, string node = "node-1")
    {
        Event(trial, new AttemptStarted(trial.Key.Id, attempt, $"w0@{node}/cpu", node, "cpu", DateTimeOffset.UnixEpoch));
        Event(trial, new AttemptAccepted(trial.Key.Id, attempt));
    }

    public void Epoch(TrialSpec trial, int attempt, int epoch, double testAcc = 80) =>
        Event(trial, new EpochRecorded(trial.Key.Id, attempt, ClusterFixtures.Epoch(epoch, testAcc)));

    public void Fail(TrialSpec trial, int attempt, string reason) => Event(trial, new AttemptFailed(trial.Key.Id, attempt, reason));

    public void Complete(TrialSpec trial, int attempt)
    {
        var summary = TrialSummary.From(_states[trial.Key.Id].Epochs);
        Event(trial, new TrialCompleted(trial.Key.Id, attempt, summary, null));
        Live.OnDecision(trial, new Finish(trial.Key.Id, Completed: true), _states[trial.Key.Id]);
    }

    public void GiveUp(TrialSpec trial) => Live.OnDecision(trial, new Finish(trial.Key.Id, Completed: false), _states[trial.Key.Id]);
}
