using SamCluster.Experiment;
using SamCluster.Messages;

namespace SamCluster.Reporting.Sequential;

/// <summary>
/// What the report of a sequential run states: per comparison the last look its finished trials decided — by
/// <see cref="SequentialStudy.Walk"/>, the rule the coordinator follows, so the report reads the decisions the run made —
/// with that look's stage-wise p-value; and the trials that ran against the fixed design's.
/// </summary>
static class SequentialReport
{
    /// <param name="trials">The report's rows, one per trial (the last row of a retried trial).</param>
    public static (List<ReportGroup> Groups, SequentialSummary Summary) Apply(SequentialPlan plan, IReadOnlyList<TrialResultRow> trials,
        IReadOnlyList<ReportGroup> groups, ReportOptions options, List<string> notes)
    {
        // The looks are the run's decisions: one-sided, treatment better than control, as the run took them; the report's
        // --alternative turns the other figures only.
        if (options.Alternative != Alternative.Greater)
            notes.Add($"the sequential looks are stated as the run decided them, one-sided (treatment > {options.Control}); " +
                      $"the other figures are {ReportOptions.Name(options.Alternative)}");

        var keys = trials.Select(Key).ToList();
        var study = SequentialStudy.Of(plan, keys, options.Control);
        // A failed trial is finished too, as for the coordinator: a look decides on the trials that completed.
        var finished = trials.Select(t => new LookInput(Key(t), t.Completed ? t.TestAcc : null)).ToList();
        var open = 0;
        var withLooks = groups.Select(g => g with
        {
            Comparisons = g.Comparisons.Select(c =>
            {
                var comparison = study.Comparisons.FirstOrDefault(s =>
                    s.Dataset == g.Dataset && s.Model == g.Model && s.Cell == g.Cell && s.Treatment == c.Treatment);
                if (comparison is null) return c;   // no treatment trials: nothing the study compares
                var last = study.Walk(comparison, finished).LastOrDefault();
                if (last is null or { Decision: LookDecision.Continue }) open++;
                var p = last is null ? null : study.Rule.StagewisePValue(last);
                return c with { Sequential = new SequentialOutcome(last, plan.Looks.Count, plan.Looks[0], p) };
            }).ToList(),
        }).ToList();

        // The fixed design runs every repeat of every arm once: a control shared by several comparisons is one arm.
        var arms = keys.Select(k => (k.Dataset, k.Model, k.Optimizer, k.Cell)).Distinct().Count();
        return (withLooks, new SequentialSummary(plan, trials.Count, (long)arms * plan.LastLook, open));
    }

    static TrialKey Key(TrialResultRow row) => new(row.Dataset, row.Model, row.Optimizer, row.Repeat, row.Cell);
}
