namespace SamCluster.Coordinator.Reporting;

/// <summary>Turns trials.csv rows into the report: per (dataset, model) the arms' summaries and each non-control
/// optimizer tested against the control on test accuracy, then Holm across all comparisons.</summary>
public static class ReportBuilder
{
    public static Report Build(IReadOnlyList<TrialRow> rows, ReportOptions options)
    {
        var notes = new List<string>();
        var trials = LatestPerTrial(rows, notes);
        var control = options.Control;
        var optimizers = OrderOptimizers(trials.Select(t => t.Optimizer).Distinct(), control);
        if (trials.Count == 0)
            notes.Add("no trials in the trials file yet: nothing to report");
        else if (!optimizers.Contains(control))
            notes.Add($"no '{control}' trials at all: nothing to compare against");

        var datasets = trials.Select(t => t.Dataset).Distinct().ToList();   // order of first appearance
        var groups = new List<ReportGroup>();
        foreach (var dataset in datasets)
            foreach (var model in trials.Where(t => t.Dataset == dataset).Select(t => t.Model).Distinct().Order(StringComparer.Ordinal))
                groups.Add(BuildGroup(dataset, model, trials.Where(t => t.Dataset == dataset && t.Model == model).ToList(),
                    optimizers, options));

        // Holm over every comparison in the report that produced a p-value.
        var all = groups.SelectMany((g, gi) => g.Comparisons.Select((c, ci) => (gi, ci, c))).ToList();
        var adjusted = Holm.Adjust(all.Select(x => x.c.Result.PValue).ToList());
        var withHolm = groups.Select((g, gi) => g with
        {
            Comparisons = g.Comparisons.Select((c, ci) => c with { PHolm = adjusted[all.FindIndex(x => x.gi == gi && x.ci == ci)] }).ToList(),
        }).ToList();
        return new Report(options, optimizers, withHolm, notes);
    }

    static ReportGroup BuildGroup(string dataset, string model, List<TrialRow> trials, IReadOnlyList<string> optimizers,
        ReportOptions options)
    {
        var notes = new List<string>();
        var arms = new List<ArmStats>();
        foreach (var optimizer in optimizers)
        {
            var mine = trials.Where(t => t.Optimizer == optimizer).ToList();
            var completed = mine.Where(t => t.Completed).ToList();
            var failed = mine.Count - completed.Count;
            arms.Add(ArmStats.From(optimizer, completed, failed));
            if (mine.Count == 0) notes.Add($"{optimizer}: no trials at all (arm missing)");
            else if (completed.Count == 0) notes.Add($"{optimizer}: all {failed} trial(s) failed, none completed");
            else if (failed > 0) notes.Add($"{optimizer}: {failed} failed trial(s) excluded; {completed.Count} completed");
        }
        var epochs = trials.Where(t => t.Completed && t.Epochs is not null).Select(t => t.Epochs!.Value).DefaultIfEmpty().Max();

        var comparisons = new List<Comparison>();
        var controlArm = arms.FirstOrDefault(a => a.Optimizer == options.Control);
        foreach (var arm in arms.Where(a => a.Optimizer != options.Control))
        {
            var result = Compare(arm, controlArm, options);
            var power = PowerAnalysis.For(options.Test, options.Alternative, arm.Test, controlArm?.Test,
                options.Test == TestKind.Paired && controlArm is not null ? Pairs(arm, controlArm) : null);
            comparisons.Add(new Comparison(arm.Optimizer, options.Control, result, null, power));
            notes.AddRange(result.Notes.Select(n => $"{arm.Optimizer} vs {options.Control}: {n}"));
            // Only the reasons a power figure is missing; Mann–Whitney's standing caveat is said once per report.
            notes.AddRange(power.Notes.Where(n => n != PowerAnalysis.MannWhitneyNote).Select(n => $"{arm.Optimizer} vs {options.Control}: power: {n}"));
        }
        return new ReportGroup(dataset, model, epochs == 0 ? null : epochs, arms, comparisons,
            trials.Where(t => !t.Completed).ToList(), notes);
    }

    static TestResult Compare(ArmStats treatment, ArmStats? control, ReportOptions options)
    {
        string a = treatment.Optimizer, b = options.Control;
        if (control is null || control.N == 0 || treatment.N == 0)
        {
            var missing = treatment.N == 0 ? a : b;
            return new TestResult(options.Test, options.Alternative, TwoSampleTests.MethodOf(options.Test), null, null, null, null,
                null, null, null, null, null, [$"no test: no completed {missing} trials"]);
        }
        return options.Test switch
        {
            TestKind.Welch => TwoSampleTests.Welch(treatment.Test!, control.Test!, options.Alternative, a, b),
            TestKind.Student => TwoSampleTests.Student(treatment.Test!, control.Test!, options.Alternative, a, b),
            TestKind.Paired => TwoSampleTests.Paired(Pairs(treatment, control), options.Alternative, a),
            _ => TwoSampleTests.MannWhitney(
                treatment.TestByRepeat.OrderBy(kv => kv.Key).Select(kv => kv.Value).ToList(),
                control.TestByRepeat.OrderBy(kv => kv.Key).Select(kv => kv.Value).ToList(),
                options.Alternative, a, b),
        };
    }

    /// <summary>Test accuracies matched by repeat number, only repeats present in both arms, in repeat order.</summary>
    static List<(double A, double B)> Pairs(ArmStats treatment, ArmStats control) =>
        treatment.TestByRepeat.Keys.Intersect(control.TestByRepeat.Keys).Order()
            .Select(r => (treatment.TestByRepeat[r], control.TestByRepeat[r])).ToList();

    /// <summary>A trial retried after a failure has several rows: the last row of a (dataset, model, optimizer, repeat)
    /// is its outcome; earlier ones are superseded (and said so).</summary>
    static List<TrialRow> LatestPerTrial(IReadOnlyList<TrialRow> rows, List<string> notes)
    {
        var latest = new Dictionary<(string, string, string, int), TrialRow>();
        var superseded = 0;
        foreach (var row in rows)
        {
            if (latest.ContainsKey((row.Dataset, row.Model, row.Optimizer, row.Repeat))) superseded++;
            latest[(row.Dataset, row.Model, row.Optimizer, row.Repeat)] = row;
        }
        if (superseded > 0)
            notes.Add($"{superseded} row(s) superseded by a later row of the same trial (the last row of a trial counts)");
        return rows.Where(r => ReferenceEquals(latest[(r.Dataset, r.Model, r.Optimizer, r.Repeat)], r)).ToList();
    }

    /// <summary>Control first, then "sam", then any others alphabetically.</summary>
    static List<string> OrderOptimizers(IEnumerable<string> names, string control) =>
        names.OrderBy(n => n == control ? 0 : n == "sam" ? 1 : 2).ThenBy(n => n, StringComparer.Ordinal).ToList();
}
