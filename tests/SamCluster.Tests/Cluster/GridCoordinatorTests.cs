using SamCluster.Experiment.Grid;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using SamCluster.Coordinator.Actors;
using SamCluster.Coordinator.Lifecycle;
using SamCluster.Coordinator.Observers;
using SamCluster.RunStore;
using SamCluster.Messages;
using Xunit;
using static SamCluster.Tests.Cluster.ClusterFixtures;
using SamCluster.Experiment;
using SamCluster.Coordinator.Logging;

namespace SamCluster.Tests.Cluster;

/// <summary>The coordinator over real trial entities (in-memory journal), with test probes as workers: work pulling,
/// leased hand-outs, refusals, lost workers, retries, fencing and recovery from the journal.</summary>
public sealed class GridCoordinatorTests : TestKit, IDisposable
{
    readonly RunFolder _folder = TempRunFolder();
    readonly RunLog _log;
    readonly RunCompletion _completion = new();
    IActorRef _coordinator = ActorRefs.Nobody;

    public GridCoordinatorTests() : base(Hocon) => _log = new RunLog(_folder, console: false);

    static readonly SchedulerOptions Quick = new(MaxRetries: 1, AckTimeout: TimeSpan.FromSeconds(1), LeaseTimeout: TimeSpan.FromSeconds(2));

    IActorRef StartCoordinator(IReadOnlyList<TrialSpec> trials, SchedulerOptions? options = null, string name = "coordinator",
        SequentialPlan? sequential = null, IRunObserver? watcher = null)
    {
        var region = Sys.ActorSelection("/user/trials").ResolveOne(TimeSpan.FromMilliseconds(200)).ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : null).Result
                     ?? Sys.ActorOf(Props.Create(() => new LocalTrialRegion(() => _coordinator)), "trials");
        var aggregator = Sys.ActorSelection("/user/aggregator").ResolveOne(TimeSpan.FromMilliseconds(200)).ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : null).Result
                         ?? Sys.ActorOf(ReportWriter.Props(_ => $"report of {File.ReadAllLines(_folder.TrialsCsv).Length - 1} trials"), "aggregator");
        var plan = new GridPlan(trials, options ?? Quick with { AckTimeout = TimeSpan.FromSeconds(5), LeaseTimeout = TimeSpan.FromSeconds(30) }, new InGivenOrder(),
            Sequential: sequential);
        IRunObserver[] observers = [new TrialLogWriter(_log), new ResultTablesWriter(_folder), new EpochsTableWriter(_folder), .. watcher is null ? [] : new[] { watcher }];
        _coordinator = Sys.ActorOf(GridCoordinator.Props(plan, region, aggregator, _completion, observers, TimeSpan.FromSeconds(30)), name);
        return _coordinator;
    }

    sealed class InGivenOrder : ITrialOrderPolicy
    {
        public IReadOnlyList<TrialSpec> Order(IEnumerable<TrialSpec> trials, DeviceClass devices) => trials.ToList();
        public double Cost(TrialSpec trial, DeviceClass devices) => 1;
    }

    ActorSelection Region => Sys.ActorSelection("/user/trials");

    /// <summary>What a worker does with an assignment: accept, start from epoch 0, report each epoch, complete; every
    /// report acknowledged.</summary>
    void RunToCompletion(TestProbe worker, AssignTrial a, int epochs = 2, double testAcc = 80)
    {
        var id = a.Trial.Key.Id;
        var seq = 0;
        IAttemptReport[] reports =
        [
            new AcceptAttempt(id, a.Attempt, ++seq),
            new ReportResume(id, a.Attempt, ++seq, null, ""),
            .. Enumerable.Range(1, epochs).Select(e => (IAttemptReport)new ReportEpoch(id, a.Attempt, ++seq, Epoch(e, testAcc), null)),
            new ReportCompleted(id, a.Attempt, ++seq, TrialSummary.From(Enumerable.Range(1, epochs).Select(e => Epoch(e, testAcc)).ToList()), null),
        ];
        foreach (var report in reports)
        {
            Region.Tell(report, worker.Ref);
            Assert.Equal(report.Seq, worker.ExpectMsg<ReportAck>().Seq);
        }
    }

    sealed class NodeLosses : IRunObserver
    {
        public readonly List<(string Node, string? Address, IReadOnlyList<string> Trials)> Lost = new();
        public void OnNodeLost(string node, string? address, IReadOnlyList<string> trials, int workers) => Lost.Add((node, address, trials.ToList()));
    }

    [Fact]
    public void A_node_is_reported_lost_once_its_last_worker_goes_naming_the_trials_it_held()
    {
        var trials = new[] { Trial("sgd", 1), Trial("sam", 1), Trial("sgd", 2) };
        var losses = new NodeLosses();
        var coordinator = StartCoordinator(trials, watcher: losses);
        var (w0, w1, other) = (CreateTestProbe(), CreateTestProbe(), CreateTestProbe());
        w0.Send(coordinator, new WorkerReady("w0", "gpu7", "cuda:0"));
        w1.Send(coordinator, new WorkerReady("w1", "gpu7", "cuda:1"));
        var held = new[] { w0.ExpectMsg<AssignTrial>().Trial.Key.Id, w1.ExpectMsg<AssignTrial>().Trial.Key.Id };

        Sys.Stop(w0.Ref);
        AwaitCondition(() => Ask(coordinator).Running.Count == 1, TimeSpan.FromSeconds(5));
        Assert.Empty(losses.Lost);                       // gpu7 still has a worker
        Sys.Stop(w1.Ref);
        AwaitCondition(() => losses.Lost.Count == 1, TimeSpan.FromSeconds(5));
        var (node, address, lost) = losses.Lost[0];
        Assert.Equal(("gpu7", (string?)null), (node, address));   // a worker in this process has no remote address
        Assert.Equal(held.Order(), lost.Order());
        Assert.Equal($"node gpu7 lost: its trials {lost[0]}, {lost[1]} go back to the queue", TrialLogWriter.NodeLostLine(node, address, lost));

        // The trials it held are handed out again.
        other.Send(coordinator, new WorkerReady("w0", "gpu8", "cpu"));
        Assert.Contains(other.ExpectMsg<AssignTrial>().Trial.Key.Id, held);
    }

    RunView Ask(IActorRef coordinator) => coordinator.Ask<RunView>(GridCoordinator.GetRunView.Instance, TimeSpan.FromSeconds(3)).Result;

    [Fact]
    public async Task A_trial_records_its_nodes_device_model_threads_and_trials_at_once_in_trials_csv()
    {
        var trials = new[] { Trial("sgd", 1) };
        var coordinator = StartCoordinator(trials);
        var worker = CreateTestProbe();
        var facts = new NodeFacts("gpu7", "Test CPU 9000", 16, 4, ["cpu"], [], null, "0.0", "libtorch", Workers: 2);
        worker.Send(coordinator, new WorkerReady("w0", "gpu7", "cpu", facts));
        RunToCompletion(worker, worker.ExpectMsg<AssignTrial>());
        await _completion.Task.WaitAsync(TimeSpan.FromSeconds(10));

        var row = Assert.Single(SamCluster.Reporting.ResultsCsv.ReadTrials(_folder.TrialsCsv));
        Assert.Equal(("gpu7", "cpu", "Test CPU 9000", 4, 2), (row.Node, row.Device, row.DeviceModel, row.Threads, row.Concurrent));
        Assert.Equal(100, row.ImagesPerSecond);                       // the mean of its epochs' (Epoch(): 100 images/s)
        Assert.EndsWith(",cell,device_model,threads,concurrent,images_per_second", File.ReadLines(_folder.TrialsCsv).First());
    }

    [Fact]
    public void A_worker_holds_at_most_one_trial_and_gets_the_next_only_after_reporting()
    {
        var trials = new[] { Trial("sgd", 1), Trial("sam", 1), Trial("sgd", 2) };
        var coordinator = StartCoordinator(trials);
        var worker = CreateTestProbe();

        worker.Send(coordinator, new WorkerReady("w0", "n1", "cpu"));
        var first = worker.ExpectMsg<AssignTrial>();
        Assert.Equal(trials[0].Key, first.Trial.Key);
        Assert.Equal(1, first.Attempt);
        Assert.Empty(first.ResumeFrom);

        // Asking again while busy (a resend that crossed the assignment) must not yield a second trial.
        worker.Send(coordinator, new WorkerReady("w0", "n1", "cpu"));
        worker.ExpectNoMsg(TimeSpan.FromMilliseconds(500));

        RunToCompletion(worker, first);
        worker.Send(coordinator, new WorkerReady("w0", "n1", "cpu"));
        Assert.Equal(trials[1].Key, worker.ExpectMsg<AssignTrial>().Trial.Key);
    }

    [Fact]
    public async Task Every_trial_finishes_once_and_the_report_is_asked_for()
    {
        var trials = new[] { Trial("sgd", 1), Trial("sam", 1), Trial("sgd", 2), Trial("sam", 2) };
        var coordinator = StartCoordinator(trials);
        var workers = new[] { CreateTestProbe(), CreateTestProbe() };
        for (var i = 0; i < workers.Length; i++) workers[i].Send(coordinator, new WorkerReady($"w{i}", "n1", "cpu"));

        var seen = new List<string>();
        for (var round = 0; round < 2; round++)
            for (var i = 0; i < workers.Length; i++)
            {
                var a = workers[i].ExpectMsg<AssignTrial>();
                seen.Add(a.Trial.Key.Id);
                RunToCompletion(workers[i], a);
                // A resent outcome is acknowledged again, and recorded once.
                Region.Tell(new ReportCompleted(a.Trial.Key.Id, a.Attempt, 5, TrialSummary.From([Epoch(1), Epoch(2)]), null), workers[i].Ref);
                workers[i].ExpectMsg<ReportAck>();
                workers[i].Send(coordinator, new WorkerReady($"w{i}", "n1", "cpu"));
            }

        Assert.Equal(trials.Select(t => t.Key.Id).Order(), seen.Order());
        var finished = await _completion.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(4, finished.Completed);
        Assert.Equal("report of 4 trials", finished.Table);
        var rows = File.ReadAllLines(_folder.TrialsCsv).Skip(1).ToList();
        Assert.Equal(4, rows.Count);
        Assert.Equal(4, rows.Select(r => string.Join(',', r.Split(',').Take(4))).Distinct().Count());
        Assert.Equal(8, File.ReadAllLines(_folder.EpochsCsv).Length - 1);
    }

    [Fact]
    public async Task A_worker_that_never_answers_does_not_stall_the_grid()
    {
        var trials = new[] { Trial("sgd", 1) };
        var coordinator = StartCoordinator(trials, Quick);
        var silent = CreateTestProbe();
        var healthy = CreateTestProbe();
        silent.Send(coordinator, new WorkerReady("w0", "n1", "cpu"));
        var lost = silent.ExpectMsg<AssignTrial>();
        healthy.Send(coordinator, new WorkerReady("w0", "n2", "cpu"));

        // No accept within the acknowledgement timeout: the silent worker is told, the trial goes to the healthy one.
        var superseded = silent.ExpectMsg<AttemptSuperseded>(TimeSpan.FromSeconds(5));
        Assert.Equal(lost.Attempt, superseded.Attempt);
        var again = healthy.ExpectMsg<AssignTrial>(TimeSpan.FromSeconds(5));
        Assert.Equal((lost.Trial.Key, 2), (again.Trial.Key, again.Attempt));
        RunToCompletion(healthy, again);

        // The silent worker's late acceptance of attempt 1 is refused.
        Region.Tell(new AcceptAttempt(lost.Trial.Key.Id, 1, 1), silent.Ref);
        silent.ExpectMsg<AttemptSuperseded>();
        await _completion.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Contains(",n2,cpu,2,", Assert.Single(File.ReadAllLines(_folder.TrialsCsv).Skip(1)));
    }

    [Fact]
    public void A_running_attempt_that_stops_reporting_loses_its_lease()
    {
        var trials = new[] { Trial("sgd", 1) };
        var coordinator = StartCoordinator(trials, Quick);
        var stuck = CreateTestProbe();
        stuck.Send(coordinator, new WorkerReady("w0", "n1", "cpu"));
        var a = stuck.ExpectMsg<AssignTrial>();
        Region.Tell(new AcceptAttempt(a.Trial.Key.Id, a.Attempt, 1), stuck.Ref);
        stuck.ExpectMsg<ReportAck>();
        // Renewals keep it for a while...
        for (var i = 0; i < 4; i++)
        {
            Thread.Sleep(700);
            stuck.Send(coordinator, new RenewLease(a.Trial.Key.Id, a.Attempt));
        }
        stuck.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        // ...then silence past the lease.
        Assert.Contains("lease expired", stuck.ExpectMsg<AttemptSuperseded>(TimeSpan.FromSeconds(5)).Why);
        var next = CreateTestProbe();
        next.Send(coordinator, new WorkerReady("w1", "n2", "cpu"));
        Assert.Equal(2, next.ExpectMsg<AssignTrial>().Attempt);
    }

    [Fact]
    public void A_busy_worker_s_refusal_puts_the_trial_back_at_once()
    {
        var trials = new[] { Trial("sgd", 1), Trial("sam", 1) };
        var coordinator = StartCoordinator(trials);
        var busy = CreateTestProbe();
        busy.Send(coordinator, new WorkerReady("w0", "n1", "cpu"));
        var a = busy.ExpectMsg<AssignTrial>();
        Region.Tell(new RejectAttempt(a.Trial.Key.Id, a.Attempt, 1, "busy with another trial"), busy.Ref);
        busy.ExpectMsg<ReportAck>();

        var other = CreateTestProbe();
        other.Send(coordinator, new WorkerReady("w1", "n2", "cpu"));
        var again = other.ExpectMsg<AssignTrial>();
        Assert.Equal((a.Trial.Key, 2), (again.Trial.Key, again.Attempt)); // the refused trial first
    }

    [Fact]
    public async Task A_lost_worker_s_trial_resumes_elsewhere_from_its_checkpoint_and_its_late_reports_are_refused()
    {
        var trials = new[] { Trial("sgd", 1, epochs: 3) };
        var coordinator = StartCoordinator(trials);
        var doomed = CreateTestProbe();
        var survivor = CreateTestProbe();
        doomed.Send(coordinator, new WorkerReady("w0", "n1", "cpu"));
        var a = doomed.ExpectMsg<AssignTrial>();
        var id = a.Trial.Key.Id;
        var checkpoint = new CheckpointRef(1, 1, id + "/attempt-1-epoch-0001.ckpt", new string('0', 64));
        foreach (var report in new IAttemptReport[] { new AcceptAttempt(id, 1, 1), new ReportResume(id, 1, 2, null, ""), new ReportEpoch(id, 1, 3, Epoch(1), checkpoint) })
        {
            Region.Tell(report, doomed.Ref);
            doomed.ExpectMsg<ReportAck>();
        }
        survivor.Send(coordinator, new WorkerReady("w0", "n2", "cpu"));
        survivor.ExpectNoMsg(TimeSpan.FromMilliseconds(300));

        Watch(doomed.Ref);
        Sys.Stop(doomed.Ref);
        ExpectTerminated(doomed.Ref);
        var again = survivor.ExpectMsg<AssignTrial>();
        Assert.Equal((a.Trial.Key, 2), (again.Trial.Key, again.Attempt));
        Assert.Equal([checkpoint], again.ResumeFrom);

        var seq = 0;
        foreach (var report in new IAttemptReport[]
                 {
                     new AcceptAttempt(id, 2, ++seq), new ReportResume(id, 2, ++seq, checkpoint, ""),
                     new ReportEpoch(id, 2, ++seq, Epoch(2), null), new ReportEpoch(id, 2, ++seq, Epoch(3), null),
                     new ReportCompleted(id, 2, ++seq, TrialSummary.From([Epoch(1), Epoch(2), Epoch(3)]), null),
                 })
        {
            Region.Tell(report, survivor.Ref);
            survivor.ExpectMsg<ReportAck>();
        }
        // The lost worker's late epoch and outcome of attempt 1 are refused.
        var late = CreateTestProbe();
        Region.Tell(new ReportEpoch(id, 1, 4, Epoch(2), null), late.Ref);
        late.ExpectMsg<AttemptSuperseded>();

        await _completion.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Contains(",n2,cpu,2,", Assert.Single(File.ReadAllLines(_folder.TrialsCsv).Skip(1)));
        Assert.Equal(3, File.ReadAllLines(_folder.EpochsCsv).Length - 1);
        Assert.Contains("resumed from epoch 1", File.ReadAllText(_folder.TrialLog(id)));
    }

    [Fact]
    public async Task A_failing_trial_is_retried_with_the_same_seed_then_reported_failed()
    {
        var trials = new[] { Trial("sam", 1) };
        var coordinator = StartCoordinator(trials);
        var worker = CreateTestProbe();
        var seeds = new List<long>();
        for (var attempt = 1; attempt <= 2; attempt++)
        {
            worker.Send(coordinator, new WorkerReady("w0", "n1", "cpu"));
            var a = worker.ExpectMsg<AssignTrial>();
            Assert.Equal(attempt, a.Attempt);
            seeds.Add(a.Trial.Seed);
            Region.Tell(new AcceptAttempt(a.Trial.Key.Id, a.Attempt, 1), worker.Ref);
            worker.ExpectMsg<ReportAck>();
            Region.Tell(new ReportFailed(a.Trial.Key.Id, a.Attempt, 2, "loss became NaN at epoch 1"), worker.Ref);
            worker.ExpectMsg<ReportAck>();
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
        worker.Send(coordinator, new WorkerReady("w0", "n1", "cpu"));
        var a = worker.ExpectMsg<AssignTrial>();
        RunToCompletion(worker, a);

        // A new coordinator over the same journal: only the unfinished trial is handed out.
        Watch(coordinator);
        Sys.Stop(coordinator);
        ExpectTerminated(coordinator);
        var restarted = StartCoordinator(trials, name: "coordinator-2");
        var fresh = CreateTestProbe();
        fresh.Send(restarted, new WorkerReady("w9", "n2", "cpu"));
        var next = fresh.ExpectMsg<AssignTrial>();
        Assert.NotEqual(a.Trial.Key, next.Trial.Key);
        RunToCompletion(fresh, next);
        Assert.Equal(1, (await _completion.Task.WaitAsync(TimeSpan.FromSeconds(10))).Recovered);
        Assert.Equal(2, File.ReadAllLines(_folder.TrialsCsv).Length - 1);
    }

    [Fact]
    public async Task A_worker_whose_disk_is_full_ends_the_run_without_failing_the_trial()
    {
        var trials = new[] { Trial("sgd", 1), Trial("sam", 1) };
        var coordinator = StartCoordinator(trials);
        var worker = CreateTestProbe();
        worker.Send(coordinator, new WorkerReady("w0", "n1", "cpu"));
        var a = worker.ExpectMsg<AssignTrial>();
        var id = a.Trial.Key.Id;
        Region.Tell(new AcceptAttempt(id, a.Attempt, 1), worker.Ref);
        Region.Tell(new ReportResume(id, a.Attempt, 2, null, ""), worker.Ref);
        var path = Path.Combine(_folder.CheckpointsDir, id, "attempt-1-epoch-0001.ckpt");
        Region.Tell(new ReportFailed(id, a.Attempt, 3, "no space left on device for attempt-1-epoch-0001.ckpt", path), worker.Ref);
        for (var seq = 1; seq <= 3; seq++) Assert.Equal(seq, worker.ExpectMsg<ReportAck>().Seq);

        var ended = await Assert.ThrowsAsync<DiskFullException>(() => _completion.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal($"no space left on device under {_folder.Root} (writing checkpoints/{id}/attempt-1-epoch-0001.ckpt on n1)", ended.Describe(_folder.Root));
        // Nothing more is handed out, and the trial is not failed: the next run resumes it.
        worker.Send(coordinator, new WorkerReady("w0", "n1", "cpu"));
        worker.ExpectNoMsg(TimeSpan.FromMilliseconds(500));
        var state = await Region.Ask<TrialState>(new GetTrialState(id), TimeSpan.FromSeconds(5));
        Assert.Equal((TrialStatus.Queued, 0), (state.Status, state.Failures));
    }

    [Fact]
    public async Task An_observer_that_meets_a_full_disk_ends_the_run()
    {
        var trials = new[] { Trial("sgd", 1), Trial("sam", 1) };
        var region = Sys.ActorOf(Props.Create(() => new LocalTrialRegion(() => _coordinator)), "trials");
        var aggregator = Sys.ActorOf(ReportWriter.Props(_ => "report"), "aggregator");
        var plan = new GridPlan(trials, Quick with { AckTimeout = TimeSpan.FromSeconds(5), LeaseTimeout = TimeSpan.FromSeconds(30) }, new InGivenOrder());
        var tables = Path.Combine(_folder.Root, "trials.csv");
        _coordinator = Sys.ActorOf(GridCoordinator.Props(plan, region, aggregator, _completion, [new FullDiskOnFinish(tables)], TimeSpan.FromSeconds(30)));
        var worker = CreateTestProbe();
        worker.Send(_coordinator, new WorkerReady("w0", "n1", "cpu"));
        RunToCompletion(worker, worker.ExpectMsg<AssignTrial>());

        var ended = await Assert.ThrowsAsync<DiskFullException>(() => _completion.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(tables, ended.Path);
        worker.Send(_coordinator, new WorkerReady("w0", "n1", "cpu"));
        worker.ExpectNoMsg(TimeSpan.FromMilliseconds(500));
    }

    sealed class FullDiskOnFinish(string path) : IRunObserver
    {
        public void OnDecision(BoardEntry trial, SchedulerAction decision, IReadOnlyList<BoardEntry> board)
        {
            if (decision is Finish) throw new DiskFullException(path, new IOException("No space left on device", 28));
        }
    }

    public new void Dispose()
    {
        base.Dispose();
        _log.Dispose();
        _folder.Dispose();
        Directory.Delete(_folder.Root, recursive: true);
    }

    // ---- sequential studies: looks and decisions ----

    static readonly SequentialPlan TwoLooks = new([2, 4], 0.05, SequentialPlan.OBrienFleming, null, SequentialPlan.Welch);

    static TrialSpec[] FourRepeats() =>
        [.. Enumerable.Range(1, 4).SelectMany(r => new[] { Trial("sgd", r), Trial("sam", r) })];

    /// <summary>SAM far ahead with almost no spread: efficacy at the first look (t in the hundreds, p ≪ α₁ ≈ 0.0015).</summary>
    static double ClearGain(TrialKey key) => (key.Optimizer == "sam" ? 90 : 50) + 0.1 * key.Repeat;

    /// <summary>No gain, some spread: every look continues, and the last says "not shown".</summary>
    static double NoGain(TrialKey key) => 70 + (key.Repeat % 2 == 0 ? 3 : -3) + (key.Optimizer == "sam" ? 0.5 : 0);

    /// <summary>Serves the grid with one worker until it is finished; returns the trials it ran, in order. The coordinator
    /// has read the journal back when its view answers, so a worker that gets nothing then has nothing to get.</summary>
    List<string> Serve(IActorRef coordinator, Func<TrialKey, double> testAcc, string worker = "w0")
    {
        var probe = CreateTestProbe();
        var ran = new List<string>();
        coordinator.Ask<RunView>(GridCoordinator.GetRunView.Instance, TimeSpan.FromSeconds(30)).Wait();
        probe.Send(coordinator, new WorkerReady(worker, "n1", "cpu"));
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (probe.ReceiveOne(TimeSpan.FromMilliseconds(500)) is AssignTrial a)
            {
                ran.Add(a.Trial.Key.Id);
                RunToCompletion(probe, a, testAcc: testAcc(a.Trial.Key));
                probe.Send(coordinator, new WorkerReady(worker, "n1", "cpu"));
            }
            else if (coordinator.Ask<RunView>(GridCoordinator.GetRunView.Instance, TimeSpan.FromSeconds(30)).Result.Trials.All(e => e.IsSettled))
            {
                break;
            }
        }
        return ran;
    }

    [Fact]
    public async Task A_sequential_grid_runs_the_first_look_and_stops_a_comparison_decided_there()
    {
        var coordinator = StartCoordinator(FourRepeats(), sequential: TwoLooks);
        var ran = Serve(coordinator, ClearGain);

        // Only look 1's repeats ran; repeats 3 and 4 were skipped by the efficacy stop.
        Assert.Equal(["fashion-mnist/resnet18/sam/1", "fashion-mnist/resnet18/sam/2", "fashion-mnist/resnet18/sgd/1", "fashion-mnist/resnet18/sgd/2"], ran.Order());
        var finished = await _completion.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal((4, 0), (finished.Completed, finished.Failed));
        Assert.Equal(4, File.ReadAllLines(_folder.TrialsCsv).Length - 1);   // trials.csv lists what ran, nothing skipped
        Assert.Contains("stopped at look 1: SAM better", File.ReadAllText(_folder.EventLog));
        var decided = Assert.Single(await LookDecisions());
        Assert.Equal(("fashion-mnist/resnet18/sam", 1, "efficacy", 2), (decided.Comparison, decided.Look, decided.Decision, decided.NPerArm));
    }

    [Fact]
    public async Task A_sequential_grid_that_continues_runs_the_next_look_then_ends_not_shown()
    {
        var coordinator = StartCoordinator(FourRepeats(), sequential: TwoLooks);
        var ran = Serve(coordinator, NoGain);

        // Look 1's four trials before any of look 2's: the later look waits for the decision.
        Assert.All(ran.Take(4), id => Assert.True(TrialKey.Parse(id).Repeat <= 2, id));
        Assert.Equal(8, ran.Distinct().Count());
        var finished = await _completion.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(8, finished.Completed);
        var decisions = await LookDecisions();
        Assert.Equal([(1, "continue"), (2, "not_shown")], decisions.Select(d => (d.Look, d.Decision)));
    }

    [Fact]
    public async Task A_coordinator_stopped_before_a_looks_decision_decides_it_once_on_restart_and_runs_nothing_twice()
    {
        // Look 1's trials finished while no coordinator listened (it was stopped right after their last report).
        var trials = FourRepeats();
        var worker = CreateTestProbe();
        StartCoordinator(trials);   // only for the region and report writer this test class shares; stopped at once
        Watch(_coordinator);
        Sys.Stop(_coordinator);
        ExpectTerminated(_coordinator);
        foreach (var t in trials.Where(t => t.Key.Repeat <= 2))
        {
            Region.Tell(new StartAttempt(t.Key.Id, "w0", "n1", "cpu"), worker.Ref);   // attempt 1 (its event goes nowhere)
            RunToCompletion(worker, new AssignTrial(t, 1, [], 1, null), testAcc: ClearGain(t.Key));
        }

        var restarted = StartCoordinator(trials, name: "coordinator-2", sequential: TwoLooks);
        Assert.Empty(Serve(restarted, ClearGain));   // decided on start: efficacy, nothing more to run
        var finished = await _completion.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal((4, 4), (finished.Completed, finished.Recovered));
        Assert.Single(await LookDecisions());

        // Started again: the decision is read back, not made again.
        Watch(restarted);
        Sys.Stop(restarted);
        ExpectTerminated(restarted);
        var third = StartCoordinator(trials, name: "coordinator-3", sequential: TwoLooks);
        Assert.Empty(Serve(third, ClearGain));
        Assert.Single(await LookDecisions());
    }

    /// <summary>Every look decision in the journal, read as a restarted coordinator reads them.</summary>
    async Task<IReadOnlyList<LookDecided>> LookDecisions()
    {
        var reader = Sys.ActorOf(LookJournal.Props(TestActor));
        var decisions = await reader.Ask<LookJournal.Decisions>(LookJournal.GetDecisions.Instance, TimeSpan.FromSeconds(10));
        Sys.Stop(reader);
        return decisions.Looks;
    }
}
