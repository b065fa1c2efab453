using SamCluster.Experiment;
using SamCluster.Experiment.Grid;
using SamCluster.Messages;

namespace SamCluster.Reporting.Sequential;

/// <summary>One comparison of a sequential study: a treatment arm (an optimizer in one recipe cell) against the control
/// arm of the values it shares, in one (dataset, model) — the rows the report compares. A control arm is shared by every
/// comparison of its (dataset, model) whose cells share its values (SAM over a rho axis against one SGD arm).</summary>
/// <param name="Cell">The treatment's cell ("rho=0.1"), null when the grid varies nothing.</param>
/// <param name="ControlCell">The control's cell: the values of <paramref name="Cell"/> it has (SGD has no rho).</param>
public sealed record StudyComparison(string Dataset, string Model, string? Cell, string Treatment, string Control, string? ControlCell)
{
    /// <summary>"fashion-mnist/resnet18/sam" or "fashion-mnist/resnet18/sam/rho=0.1": the comparison's name in the journal.</summary>
    public string Id => Cell is null ? $"{Dataset}/{Model}/{Treatment}" : $"{Dataset}/{Model}/{Treatment}/{Cell}";

    public bool IsTreatment(TrialKey key) => Same(key) && key.Optimizer == Treatment && key.Cell == Cell;

    public bool IsControl(TrialKey key) => Same(key) && key.Optimizer == Control && key.Cell == ControlCell;

    public bool Contains(TrialKey key) => IsTreatment(key) || IsControl(key);

    bool Same(TrialKey key) => key.Dataset == Dataset && key.Model == Model;
}

/// <summary>A finished trial as a look sees it: its test accuracy when it completed, null when it failed.</summary>
public sealed record LookInput(TrialKey Key, double? TestAcc);

/// <summary>
/// A grid's `sequential` key applied to its trials: which comparisons there are, which look a repeat belongs to, and
/// what a look decides on the finished trials (the one <see cref="SequentialRule"/>). Pure, and the one place both the
/// coordinator (which runs looks and journals their decisions) and the report (which states them) take them from: a
/// look's decision is a function of its trials' results, so both read the same.
/// </summary>
public sealed class SequentialStudy
{
    public SequentialPlan Plan { get; }
    public SequentialRule Rule { get; }
    public IReadOnlyList<StudyComparison> Comparisons { get; }

    SequentialStudy(SequentialPlan plan, SequentialRule rule, IReadOnlyList<StudyComparison> comparisons)
    {
        Plan = plan;
        Rule = rule;
        Comparisons = comparisons;
    }

    public GroupSequentialDesign Design => Rule.Design;

    /// <summary>The study over <paramref name="trials"/>: one comparison per (dataset, model, treatment, cell) whose
    /// treatment is not the control, in trial order.</summary>
    public static SequentialStudy Of(SequentialPlan plan, IEnumerable<TrialKey> trials, string control = Vocabulary.SgdName,
        Alternative alternative = Alternative.Greater)
    {
        var comparisons = trials.Where(k => k.Optimizer != control)
            .Select(k => new StudyComparison(k.Dataset, k.Model, k.Cell, k.Optimizer, control, RecipeAxes.ArmCell(control, k.Cell)))
            .Distinct().ToList();
        return new SequentialStudy(plan, SequentialRule.For(plan, alternative), comparisons);
    }

    /// <summary>The look (1-based) whose repeats include <paramref name="repeat"/>.</summary>
    public int LookOf(int repeat) => Plan.LookOf(repeat);

    /// <summary>Repeats per arm at look <paramref name="look"/> (1-based).</summary>
    public int RepeatsAt(int look) => Plan.Looks[look - 1];

    public IEnumerable<StudyComparison> ComparisonsOf(TrialKey key) => Comparisons.Where(c => c.Contains(key));

    /// <summary>The decision of look <paramref name="look"/> of <paramref name="comparison"/> on its finished trials
    /// (failed ones count as missing; the paired test uses the repeats present in both arms). Trials of later repeats are
    /// ignored.</summary>
    public LookResult Decide(StudyComparison comparison, int look, IEnumerable<LookInput> finished)
    {
        var n = RepeatsAt(look);
        var mine = finished.Where(t => t.Key.Repeat <= n && t.TestAcc is not null).ToList();
        var treatment = mine.Where(t => comparison.IsTreatment(t.Key)).ToDictionary(t => t.Key.Repeat, t => t.TestAcc!.Value);
        var control = mine.Where(t => comparison.IsControl(t.Key)).ToDictionary(t => t.Key.Repeat, t => t.TestAcc!.Value);
        if (Plan.Test == SequentialPlan.Paired)
        {
            var both = treatment.Keys.Intersect(control.Keys).Order().ToList();
            return Rule.Decide(look, both.Select(r => treatment[r]).ToList(), both.Select(r => control[r]).ToList());
        }
        return Rule.Decide(look, treatment.OrderBy(kv => kv.Key).Select(kv => kv.Value).ToList(),
            control.OrderBy(kv => kv.Key).Select(kv => kv.Value).ToList());
    }

    /// <summary>The trials look <paramref name="look"/> of <paramref name="comparison"/> decides on: repeats 1..n_k of both
    /// arms (a sequential grid's arms have repeats 1..last look, and a sequential run never grows).</summary>
    public IEnumerable<TrialKey> TrialsOf(StudyComparison comparison, int look)
    {
        var c = comparison;
        for (var r = 1; r <= RepeatsAt(look); r++)
        {
            yield return new TrialKey(c.Dataset, c.Model, c.Treatment, r, c.Cell);
            yield return new TrialKey(c.Dataset, c.Model, c.Control, r, c.ControlCell);
        }
    }

    /// <summary>Whether every trial look <paramref name="look"/> decides on is finished (completed or failed for good).</summary>
    public bool LookComplete(StudyComparison comparison, int look, IReadOnlySet<string> finishedIds) =>
        TrialsOf(comparison, look).All(k => finishedIds.Contains(k.Id));

    /// <summary>The looks a run's finished trials decided, in order, up to the first that stopped (or the last whose
    /// trials are all finished): what the report states. The coordinator journals the same decisions as it makes them.</summary>
    public IReadOnlyList<LookResult> Walk(StudyComparison comparison, IReadOnlyList<LookInput> finished)
    {
        var done = finished.Select(t => t.Key.Id).ToHashSet();
        var results = new List<LookResult>();
        for (var look = 1; look <= Plan.Looks.Count; look++)
        {
            if (!LookComplete(comparison, look, done)) break;
            var result = Decide(comparison, look, finished);
            results.Add(result);
            if (result.Decision != LookDecision.Continue) break;
        }
        return results;
    }
}
