using SamCluster.Coordinator.Lifecycle;
using SamCluster.Experiment;
using SamCluster.Messages;
using SamCluster.Reporting.Sequential;
using Xunit;

namespace SamCluster.Tests.SequentialStudies;

/// <summary>The coordinator's rule for looks, without actors: which trials may run, which never will, which looks are
/// due — with a control arm shared by two SAM cells (a rho axis).</summary>
public sealed class LookScheduleTests
{
    static readonly SequentialPlan Plan = new([2, 4], 0.05, SequentialPlan.OBrienFleming, null, SequentialPlan.Welch);

    static TrialKey Sgd(int repeat) => new("fashion-mnist", "resnet18", "sgd", repeat);
    static TrialKey Sam(string rho, int repeat) => new("fashion-mnist", "resnet18", "sam", repeat, $"rho={rho}");

    static readonly TrialKey[] Trials =
        [.. Enumerable.Range(1, 4).SelectMany(r => new[] { Sgd(r), Sam("0.05", r), Sam("0.1", r) })];

    static LookDecided Decided(string rho, int look, LookDecision decision) =>
        new($"fashion-mnist/resnet18/sam/rho={rho}", look, LookResult.NameOf(decision), 2 * look, null, null, 0.001, null, null, DateTimeOffset.UnixEpoch);

    [Fact]
    public void Two_SAM_cells_share_one_control_arm()
    {
        var study = SequentialStudy.Of(Plan, Trials);
        Assert.Equal(["fashion-mnist/resnet18/sam/rho=0.05", "fashion-mnist/resnet18/sam/rho=0.1"], study.Comparisons.Select(c => c.Id));
        Assert.All(study.Comparisons, c => Assert.True(c.IsControl(Sgd(1))));
        Assert.Equal(2, study.ComparisonsOf(Sgd(3)).Count());
        Assert.Single(study.ComparisonsOf(Sam("0.1", 3)));
    }

    [Fact]
    public void Only_the_first_looks_repeats_run_before_any_decision()
    {
        var looks = new LookSchedule(SequentialStudy.Of(Plan, Trials));
        Assert.All(Trials.Where(k => k.Repeat <= 2), k => Assert.True(looks.MayRun(k), k.Id));
        Assert.All(Trials.Where(k => k.Repeat > 2), k => Assert.False(looks.MayRun(k) || looks.NeverRuns(k), k.Id));
    }

    [Fact]
    public void The_shared_control_runs_on_while_any_of_its_comparisons_is_open()
    {
        var looks = new LookSchedule(SequentialStudy.Of(Plan, Trials));
        Assert.True(looks.Apply(Decided("0.05", 1, LookDecision.Efficacy)));
        Assert.True(looks.Apply(Decided("0.1", 1, LookDecision.Continue)));

        Assert.True(looks.NeverRuns(Sam("0.05", 3)));      // its comparison stopped at look 1
        Assert.True(looks.MayRun(Sam("0.1", 3)));          // its comparison goes on to look 2
        Assert.True(looks.MayRun(Sgd(3)));                 // and needs the control's look 2
        Assert.Equal("stopped at look 1: SAM better", looks.Of(looks.Study.Comparisons[0]).Describe());
        Assert.Equal("look 1 of 2: continue", looks.Of(looks.Study.Comparisons[1]).Describe());

        Assert.True(looks.Apply(Decided("0.1", 2, LookDecision.NotShown)));
        Assert.False(looks.NeverRuns(Sgd(3)));             // it ran for rho=0.1's look 2: not skipped
        Assert.All(looks.All, c => Assert.False(c.IsOpen));
    }

    [Fact]
    public void A_look_is_due_once_every_trial_of_both_arms_is_finished_and_a_decision_is_applied_once()
    {
        var looks = new LookSchedule(SequentialStudy.Of(Plan, Trials));
        var lookOne = Trials.Where(k => k.Repeat <= 2).Select(k => k.Id).ToHashSet();
        lookOne.Remove(Sgd(2).Id);
        Assert.Empty(looks.Due(lookOne));                   // the shared control's repeat 2 is missing
        lookOne.Add(Sgd(2).Id);
        Assert.Equal([("fashion-mnist/resnet18/sam/rho=0.05", 1), ("fashion-mnist/resnet18/sam/rho=0.1", 1)],
            looks.Due(lookOne).Select(d => (d.Comparison.Id, d.Look)));

        Assert.True(looks.Apply(Decided("0.05", 1, LookDecision.Futility)));
        Assert.False(looks.Apply(Decided("0.05", 1, LookDecision.Efficacy)));   // journaled twice: the first stands
        Assert.Equal(["fashion-mnist/resnet18/sam/rho=0.1"], looks.Due(lookOne).Select(d => d.Comparison.Id));
    }

    [Fact]
    public void A_decision_is_the_rule_applied_to_the_looks_finished_trials()
    {
        var looks = new LookSchedule(SequentialStudy.Of(Plan, Trials));
        var finished = Trials.Where(k => k.Repeat <= 2)
            .Select(k => new LookInput(k, k.Optimizer == "sam" ? 90 + 0.1 * k.Repeat : 50 + 0.1 * k.Repeat)).ToList();
        var due = looks.Due(finished.Select(f => f.Key.Id).ToHashSet())[0];
        var decided = looks.Decide(due, finished, DateTimeOffset.UnixEpoch);
        var rule = looks.Study.Rule.Decide(1, [90.1, 90.2], [50.1, 50.2]);
        Assert.Equal(("efficacy", 2, rule.Statistic, rule.PValue), (decided.Decision, decided.NPerArm, decided.Statistic, decided.PValue));
    }
}
