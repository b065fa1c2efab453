using SamCluster.Coordinator.Lifecycle;
using SamCluster.Experiment;
using SamCluster.Experiment.Grid;
using SamCluster.Messages;
using Xunit;

namespace SamCluster.Tests.Lifecycle;

/// <summary>Packed repeats in the scheduler, without actors: which trials a packing worker gets at once, when the pack
/// is offered, and what happens to its members one by one (lost worker, a failure, a refusal).</summary>
public sealed class PackSchedulingTests
{
    static readonly DateTimeOffset T0 = new(2026, 12, 6, 10, 0, 0, TimeSpan.Zero);
    static readonly SchedulerOptions Options = new(MaxRetries: 1, AckTimeout: TimeSpan.FromSeconds(10), LeaseTimeout: TimeSpan.FromSeconds(60), Pack: 3);

    sealed class AsGiven : ITrialOrderPolicy
    {
        public IReadOnlyList<TrialSpec> Order(IEnumerable<TrialSpec> trials, DeviceClass devices) => trials.ToList();
        public double Cost(TrialSpec trial, DeviceClass devices) => 1;
    }

    static TrialSpec Trial(string optimizer, int repeat, string? cell = null) =>
        new(new TrialKey("fashion-mnist", "resnet18", optimizer, repeat, cell), repeat, new DataSpec("fashion-mnist", "/d", ["0", "1"]), RecipeTable.Defaults(2));

    static string Id(string optimizer, int repeat, string? cell = null) => Trial(optimizer, repeat, cell).Key.Id;

    /// <summary>Queue: sgd 1, sam 1, sgd 2, sgd 3, sgd 4, sam 2 — the cells interleaved, as a cost order may leave them.</summary>
    static GridScheduler Scheduler(SchedulerOptions? options = null) => new(
        [Trial("sgd", 1), Trial("sam", 1), Trial("sgd", 2), Trial("sgd", 3), Trial("sgd", 4), Trial("sam", 2)], new AsGiven(), options ?? Options);

    /// <summary>Numbers each started member (attempt 1) and returns what the last numbering called for.</summary>
    static IReadOnlyList<SchedulerAction> Number(GridScheduler s, IEnumerable<StartOn> starts, int attempt = 1)
    {
        IReadOnlyList<SchedulerAction> last = [];
        foreach (var start in starts.ToList())
        {
            last = s.OnAttemptStarted(start.TrialId, attempt, start.Worker, T0);
            if (start.TrialId != starts.Last().TrialId) Assert.Empty(last);   // the pack waits for all its numbers
        }
        return last;
    }

    [Fact]
    public void A_packing_worker_gets_up_to_its_pack_of_one_cell_offered_once_every_member_is_numbered()
    {
        var s = Scheduler();
        var starts = s.OnWorkerReady("w0", T0, "cpu", pack: 3).Cast<StartOn>().ToList();
        Assert.Equal([Id("sgd", 1), Id("sgd", 2), Id("sgd", 3)], starts.Select(a => a.TrialId));
        Assert.All(starts, a => Assert.Equal("w0", a.Worker));
        var pack = Assert.IsType<OfferPack>(Assert.Single(Number(s, starts)));
        Assert.Equal([(Id("sgd", 1), 1), (Id("sgd", 2), 1), (Id("sgd", 3), 1)], pack.Members.Select(m => (m.TrialId, m.Attempt)));
        Assert.Equal("w0", pack.Worker);
        Assert.All(starts, a => Assert.Equal(BoardStatus.Running, s.Board[a.TrialId].Status));   // the board: each its own status

        // The grid's pack for a worker that packs as the grid says; one at a time for a node that does not pack.
        var asGrid = s.OnWorkerReady("w1", T0, "cpu", pack: WorkerReady.PackAsGridSays).Cast<StartOn>().Select(a => a.TrialId);
        Assert.Equal([Id("sam", 1), Id("sam", 2)], asGrid);   // only two of that cell are queued
        Assert.Equal(new StartOn(Id("sgd", 4), "w2"), Assert.Single(s.OnWorkerReady("w2", T0, "cpu", pack: null)));
    }

    [Fact]
    public void Each_member_finishes_on_its_own_and_the_worker_is_free_only_when_all_have()
    {
        var s = Scheduler();
        var starts = s.OnWorkerReady("w0", T0, "cpu", pack: 2).Cast<StartOn>().ToList();
        Number(s, starts);
        foreach (var a in starts) s.OnAccepted(a.TrialId, 1, T0);
        s.OnProgress(starts[0].TrialId, 1, T0 + TimeSpan.FromSeconds(50));   // only its own lease is renewed

        Assert.Equal([new Finish(Id("sgd", 1), true)], s.OnOutcome(Id("sgd", 1), 1, completed: true, failures: 0, T0));
        Assert.Empty(s.OnWorkerReady("w0", T0, "cpu", pack: 2));   // still holds sgd 2
        // sgd 2's lease runs out, sgd 1's renewal did nothing for it.
        var expired = s.OnTick(T0 + TimeSpan.FromSeconds(61));
        Assert.Contains(new Release(Id("sgd", 2), 1, "w0", "its lease expired (no report for 60 s)"), expired);
        Assert.Equal(BoardStatus.Queued, s.Board[Id("sgd", 2)].Status);
        Assert.Equal(BoardStatus.Completed, s.Board[Id("sgd", 1)].Status);
    }

    [Fact]
    public void A_lost_worker_returns_every_member_to_the_front_of_the_queue()
    {
        var s = Scheduler();
        var starts = s.OnWorkerReady("w0", T0, "cpu", pack: 3).Cast<StartOn>().ToList();
        Number(s, starts);
        foreach (var a in starts) s.OnAccepted(a.TrialId, 1, T0);

        var actions = s.OnWorkerLost("w0", "node down", T0);
        Assert.Equal(starts.Select(a => a.TrialId).Order(), actions.OfType<Requeued>().Select(r => r.TrialId).Order());
        Assert.All(starts, a => Assert.Equal(BoardStatus.Queued, s.Board[a.TrialId].Status));
        // They pack again on the next packing worker (each resumes from its own checkpoint: the entity's candidates).
        var again = s.OnWorkerReady("w1", T0, "cpu", pack: 3).Cast<StartOn>().Select(a => a.TrialId).Order();
        Assert.Equal(starts.Select(a => a.TrialId).Order(), again);
    }

    [Fact]
    public void A_member_that_fails_in_a_pack_is_retried_alone_while_the_others_go_on()
    {
        var s = Scheduler();
        var starts = s.OnWorkerReady("w0", T0, "cpu", pack: 3).Cast<StartOn>().ToList();
        Number(s, starts);
        foreach (var a in starts) s.OnAccepted(a.TrialId, 1, T0);

        Assert.Equal([new Retry(Id("sgd", 2), 1)], s.OnOutcome(Id("sgd", 2), 1, completed: false, failures: 1, T0));
        Assert.Equal(BoardStatus.Running, s.Board[Id("sgd", 1)].Status);
        Assert.Equal(BoardStatus.Running, s.Board[Id("sgd", 3)].Status);

        // Back at the front, alone: a packing worker gets it by itself although sgd 4 of its cell is queued.
        Assert.Equal(new StartOn(Id("sgd", 2), "w1"), Assert.Single(s.OnWorkerReady("w1", T0, "cpu", pack: 3)));
        Assert.Equal(new Offer(Id("sgd", 2), 2, "w1"), Assert.Single(s.OnAttemptStarted(Id("sgd", 2), 2, "w1", T0)));
        s.OnAccepted(Id("sgd", 2), 2, T0);
        // Failing alone follows the retry budget as ever: spent, it is failed for good.
        Assert.Equal(new Finish(Id("sgd", 2), false), s.OnOutcome(Id("sgd", 2), 2, completed: false, failures: 2, T0)[0]);

        // A trial that fails alone (never packed) is retried as ever, and may pack later.
        var t = Scheduler(Options with { Pack = 1 });
        var solo = Assert.IsType<StartOn>(Assert.Single(t.OnWorkerReady("w0", T0, "cpu", pack: WorkerReady.PackAsGridSays)));
        Assert.IsType<Offer>(Assert.Single(t.OnAttemptStarted(solo.TrialId, 1, "w0", T0)));
        t.OnAccepted(solo.TrialId, 1, T0);
        t.OnOutcome(solo.TrialId, 1, completed: false, failures: 1, T0);
        Assert.Equal([Id("sgd", 1), Id("sgd", 2)], t.OnWorkerReady("w1", T0, "cpu", pack: 2).Cast<StartOn>().Select(a => a.TrialId));
    }

    [Fact]
    public void A_member_refused_before_the_offer_leaves_the_pack_and_the_rest_is_offered()
    {
        var s = Scheduler();
        var starts = s.OnWorkerReady("w0", T0, "cpu", pack: 3).Cast<StartOn>().ToList();
        s.OnAttemptStarted(starts[0].TrialId, 1, "w0", T0);
        s.OnAttemptStarted(starts[1].TrialId, 1, "w0", T0);
        // The third is completed already (an outcome this coordinator missed): finished, and the two are offered.
        var actions = s.OnStartRefused(starts[2].TrialId, T0);
        Assert.Equal(new Finish(starts[2].TrialId, true), actions[0]);
        var pack = Assert.IsType<OfferPack>(actions[1]);
        Assert.Equal([starts[0].TrialId, starts[1].TrialId], pack.Members.Select(m => m.TrialId));

        // A pack whose other members all left is offered as a solo trial.
        var t = Scheduler();
        var two = t.OnWorkerReady("w0", T0, "cpu", pack: 2).Cast<StartOn>().ToList();
        t.OnAttemptStarted(two[0].TrialId, 1, "w0", T0);
        var left = t.OnStartRefused(two[1].TrialId, T0);
        Assert.Contains(new Offer(two[0].TrialId, 1, "w0"), left);
    }

    [Fact]
    public void Sequential_looks_pack_a_looks_repeats_together()
    {
        var s = Scheduler();
        s.Hold([Id("sgd", 3), Id("sgd", 4)]);   // the second look's repeats
        var first = s.OnWorkerReady("w0", T0, "cpu", pack: 3).Cast<StartOn>().Select(a => a.TrialId);
        Assert.Equal([Id("sgd", 1), Id("sgd", 2)], first);
        var opened = s.Open([Id("sgd", 3), Id("sgd", 4)], T0);
        Assert.Empty(opened);   // no worker free
        var second = s.OnWorkerReady("w1", T0, "cpu", pack: 3).Cast<StartOn>().Select(a => a.TrialId);
        Assert.Equal([Id("sam", 1), Id("sam", 2)], second);
        var third = s.OnWorkerReady("w2", T0, "cpu", pack: 3).Cast<StartOn>().Select(a => a.TrialId);
        Assert.Equal([Id("sgd", 3), Id("sgd", 4)], third);
    }

    [Fact]
    public void Trials_of_other_cells_never_share_a_pack()
    {
        var s = new GridScheduler([Trial("sgd", 1, "lr=0.1"), Trial("sgd", 1, "lr=0.01"), Trial("sgd", 2, "lr=0.1")], new AsGiven(), Options);
        var starts = s.OnWorkerReady("w0", T0, "cpu", pack: 3).Cast<StartOn>().Select(a => a.TrialId);
        Assert.Equal([Id("sgd", 1, "lr=0.1"), Id("sgd", 2, "lr=0.1")], starts);
    }
}
