using Akka.Actor;
using Akka.TestKit.Xunit2;
using SamCluster.Coordinator.Actors;
using SamCluster.Coordinator.Run;
using SamCluster.Messages;
using Xunit;
using static SamCluster.Tests.Cluster.ClusterFixtures;

namespace SamCluster.Tests.Cluster;

/// <summary>The coordinator's work pulling, requeueing, retries and completion, with real trial entities on an
/// in-memory journal and test probes as workers.</summary>
public sealed class GridCoordinatorTests : TestKit, IDisposable
{
    readonly RunFolder _folder = TempRunFolder();
    readonly RunLog _log;
    readonly RunCompletion _completion = new();
    IActorRef _coordinator = ActorRefs.Nobody;

    public GridCoordinatorTests() : base(Hocon) => _log = new RunLog(_folder, console: false);

    IActorRef StartCoordinator(IReadOnlyList<TrialSpec> trials, int maxRetries = 1)
    {
        var region = Sys.ActorOf(Props.Create(() => new LocalTrialRegion(() => _coordinator)), "trials");
        var aggregator = Sys.ActorOf(ReportAggregator.Props(f => $"report of {File.ReadAllLines(f.TrialsCsv).Length - 1} trials"), "aggregator");
        _coordinator = Sys.ActorOf(GridCoordinator.Props(new GridPlan(trials, maxRetries, _ => 1.0), region, aggregator,
            _folder, _log, _completion, TimeSpan.FromSeconds(30)), "coordinator");
        return _coordinator;
    }

    static TrialCompleted Completed(AssignTrial a, string node = "n1") =>
        new(a.Trial.Key.Id, a.Attempt, node, "cpu", [Epoch(1), Epoch(2)], TrialSummary.From([Epoch(1), Epoch(2)]));

    [Fact]
    public void A_worker_holds_at_most_one_trial_and_gets_the_next_only_after_reporting()
    {
        var trials = new[] { Trial("sgd", 1), Trial("sam", 1), Trial("sgd", 2) };
        var coordinator = StartCoordinator(trials);
        var worker = CreateTestProbe();
        var region = Sys.ActorSelection("/user/trials");

        worker.Send(coordinator, new WorkerReady("w0", "n1", "cpu"));
        var first = worker.ExpectMsg<AssignTrial>();
        Assert.Equal(trials[0].Key, first.Trial.Key); // hand-out order is the plan's (longest first)
        Assert.Equal(1, first.Attempt);

        // Asking again while busy (a resend that crossed the assignment) must not yield a second trial.
        worker.Send(coordinator, new WorkerReady("w0", "n1", "cpu"));
        worker.ExpectNoMsg(TimeSpan.FromMilliseconds(500));

        region.Tell(Completed(first), worker.Ref);
        worker.ExpectMsg<OutcomeRecorded>(m => m.TrialId == first.Trial.Key.Id);
        // The early ask is honoured once the outcome is in.
        var second = worker.ExpectMsg<AssignTrial>();
        Assert.Equal(trials[1].Key, second.Trial.Key);
    }

    [Fact]
    public async Task Every_trial_finishes_once_and_the_report_is_asked_for()
    {
        var trials = new[] { Trial("sgd", 1), Trial("sam", 1), Trial("sgd", 2), Trial("sam", 2) };
        var coordinator = StartCoordinator(trials);
        var region = Sys.ActorSelection("/user/trials");
        var workers = new[] { CreateTestProbe(), CreateTestProbe() };
        for (var i = 0; i < workers.Length; i++) workers[i].Send(coordinator, new WorkerReady($"w{i}", "n1", "cpu"));

        var seen = new List<string>();
        for (var round = 0; round < 2; round++)
            foreach (var w in workers)
            {
                var a = w.ExpectMsg<AssignTrial>();
                seen.Add(a.Trial.Key.Id);
                region.Tell(Completed(a), w.Ref);
                region.Tell(Completed(a), w.Ref); // a resend: acknowledged, not recorded twice
                w.ExpectMsg<OutcomeRecorded>();
                w.ExpectMsg<OutcomeRecorded>();
                w.Send(coordinator, new WorkerReady(w == workers[0] ? "w0" : "w1", "n1", "cpu"));
            }

        Assert.Equal(trials.Select(t => t.Key.Id).OrderBy(x => x), seen.OrderBy(x => x));
        var finished = await _completion.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(4, finished!.Completed);
        Assert.Equal("report of 4 trials", finished.Table);
        var rows = File.ReadAllLines(_folder.TrialsCsv).Skip(1).ToList();
        Assert.Equal(4, rows.Count);
        Assert.Equal(4, rows.Select(r => string.Join(',', r.Split(',').Take(4))).Distinct().Count());
        Assert.Equal(8, File.ReadAllLines(_folder.EpochsCsv).Length - 1);
    }

    [Fact]
    public async Task A_lost_worker_s_trial_goes_back_to_the_queue_and_runs_elsewhere()
    {
        var trials = new[] { Trial("sgd", 1) };
        var coordinator = StartCoordinator(trials);
        var doomed = CreateTestProbe();
        var survivor = CreateTestProbe();
        doomed.Send(coordinator, new WorkerReady("w0", "n1", "cpu"));
        var a = doomed.ExpectMsg<AssignTrial>();
        survivor.Send(coordinator, new WorkerReady("w0", "n2", "cpu"));
        survivor.ExpectNoMsg(TimeSpan.FromMilliseconds(300));

        Sys.Stop(doomed.Ref);
        var again = survivor.ExpectMsg<AssignTrial>();
        Assert.Equal(a.Trial.Key, again.Trial.Key);
        Assert.Equal(2, again.Attempt);

        // The dead worker's late report of attempt 1 loses against attempt 2's.
        var region = Sys.ActorSelection("/user/trials");
        region.Tell(Completed(again, node: "n2"), survivor.Ref);
        survivor.ExpectMsg<OutcomeRecorded>();
        region.Tell(Completed(a, node: "n1"), survivor.Ref);
        survivor.ExpectMsg<OutcomeRecorded>();
        await _completion.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var row = Assert.Single(File.ReadAllLines(_folder.TrialsCsv).Skip(1));
        Assert.Contains(",n2,cpu,2,", row);
    }

    [Fact]
    public async Task A_failing_trial_is_retried_with_the_same_seed_then_reported_failed()
    {
        var trials = new[] { Trial("sam", 1) };
        var coordinator = StartCoordinator(trials, maxRetries: 1);
        var worker = CreateTestProbe();
        var region = Sys.ActorSelection("/user/trials");
        var seeds = new List<long>();
        for (var attempt = 1; attempt <= 2; attempt++)
        {
            worker.Send(coordinator, new WorkerReady("w0", "n1", "cpu"));
            var a = worker.ExpectMsg<AssignTrial>();
            Assert.Equal(attempt, a.Attempt);
            seeds.Add(a.Trial.Seed);
            region.Tell(new TrialFailed(a.Trial.Key.Id, a.Attempt, "n1", "cpu", "loss became NaN at epoch 1"), worker.Ref);
            worker.ExpectMsg<OutcomeRecorded>();
        }
        worker.Send(coordinator, new WorkerReady("w0", "n1", "cpu"));
        worker.ExpectNoMsg(TimeSpan.FromMilliseconds(300)); // nothing left: 1 try + 1 retry
        Assert.Single(seeds.Distinct());
        Assert.Equal(1, (await _completion.Task.WaitAsync(TimeSpan.FromSeconds(10))).Failed);
        var row = Assert.Single(File.ReadAllLines(_folder.TrialsCsv).Skip(1));
        Assert.Contains(",failed,", row);
        Assert.Contains("loss became NaN at epoch 1", row);
    }

    [Fact]
    public async Task A_restarted_coordinator_reads_finished_trials_back_from_the_journal()
    {
        var trials = new[] { Trial("sgd", 1), Trial("sam", 1) };
        var coordinator = StartCoordinator(trials);
        var worker = CreateTestProbe();
        var region = Sys.ActorSelection("/user/trials");
        worker.Send(coordinator, new WorkerReady("w0", "n1", "cpu"));
        var a = worker.ExpectMsg<AssignTrial>();
        region.Tell(Completed(a), worker.Ref);
        worker.ExpectMsg<OutcomeRecorded>();

        // A new coordinator over the same journal: only the unfinished trial is handed out.
        Watch(coordinator);
        Sys.Stop(coordinator);
        ExpectTerminated(coordinator);
        var trialRegion = await Sys.ActorSelection("/user/trials").ResolveOne(TimeSpan.FromSeconds(3));
        var aggregator = await Sys.ActorSelection("/user/aggregator").ResolveOne(TimeSpan.FromSeconds(3));
        var restarted = Sys.ActorOf(GridCoordinator.Props(new GridPlan(trials, 1, _ => 1.0), trialRegion, aggregator,
            _folder, _log, _completion, TimeSpan.FromSeconds(30)), "coordinator-2");
        _coordinator = restarted;
        var fresh = CreateTestProbe();
        fresh.Send(restarted, new WorkerReady("w9", "n2", "cpu"));
        var next = fresh.ExpectMsg<AssignTrial>();
        Assert.NotEqual(a.Trial.Key, next.Trial.Key);
        region.Tell(Completed(next), fresh.Ref);
        fresh.ExpectMsg<OutcomeRecorded>();
        Assert.Equal(1, (await _completion.Task.WaitAsync(TimeSpan.FromSeconds(10))).Recovered);
        Assert.Equal(2, File.ReadAllLines(_folder.TrialsCsv).Length - 1);
    }

    public new void Dispose()
    {
        base.Dispose();
        _log.Dispose();
        Directory.Delete(_folder.Root, recursive: true);
    }
}
