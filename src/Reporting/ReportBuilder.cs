using SamCluster.Experiment;
using SamCluster.Experiment.Grid;
using SamCluster.Reporting.Sequential;
namespace SamCluster.Reporting;

/// <summary>Turns trials.csv rows into the report: per (dataset, model, recipe cell) the arms' summaries and each
/// non-control optimizer tested against the control on test accuracy, then Holm across all comparisons. A grid that
/// varies SAM's own keys (rho) compares each SAM cell with the SGD trials of the values they share. A sequential run's
/// comparisons also state their looks (<see cref="SequentialReport"/>), and Holm adjusts their stage-wise p-values.</summary>
public static class ReportBuilder
{
    public static Report Build(IReadOnlyList<TrialResultRow> rows, ReportOptions options)
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
            {
                var mine = trials.Where(t => t.Dataset == dataset && t.Model == model).ToList();
                foreach (var cell in Cells(mine, control))
                    groups.Add(BuildGroup(dataset, model, cell,
                        mine.Where(t => t.Cell == RecipeAxes.ArmCell(t.Optimizer, cell)).ToList(), optimizers, options));
            }

        SequentialSummary? sequential = null;
        if (options.Sequential is { } plan)
            (groups, sequential) = SequentialReport.Apply(plan, trials, groups, options, notes);

        // Holm over every comparison in the report that produced a p-value (a sequential one's stage-wise p).
        var all = groups.SelectMany((g, gi) => g.Comparisons.Select((c, ci) => (gi, ci, c))).ToList();
        var adjusted = Holm.Adjust(all.Select(x => x.c.HolmInput).ToList());
        var withHolm = groups.Select((g, gi) => g with
        {
            Comparisons = g.Comparisons.Select((c, ci) => c with { PHolm = adjusted[all.FindIndex(x => x.gi == gi && x.ci == ci)] }).ToList(),
        }).ToList();
        return new Report(options, optimizers, withHolm, notes, sequential);
    }

    /// <summary>The cells to compare at: the treatments' (SAM's cells carry every varied value), or the control's
    /// where there is no treatment; one null cell for a grid without axes.</summary>
    static IReadOnlyList<string?> Cells(IReadOnlyList<TrialResultRow> trials, string control)
    {
        var treated = trials.Where(t => t.Optimizer != control).Select(t => t.Cell).Distinct().ToList();
        var cells = treated.Count > 0 ? treated : trials.Select(t => t.Cell).Distinct().ToList();
        return cells.OrderBy(c => c ?? "", StringComparer.Ordinal).ToList();
    }

    static ReportGroup BuildGroup(string dataset, string model, string? cell, List<TrialResultRow> trials, IReadOnlyList<string> optimizers,
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
        List<TrialResultRow> CompletedOf(string optimizer) => trials.Where(t => t.Optimizer == optimizer && t.Completed).ToList();
        var controlArm = arms.FirstOrDefault(a => a.Optimizer == options.Control);
        foreach (var arm in arms.Where(a => a.Optimizer != options.Control))
        {
            var result = Compare(arm, controlArm, options);
            var power = PowerAnalysis.For(options.Test, options.Alternative, arm.Test, controlArm?.Test,
                options.Test == TestKind.Paired && controlArm is not null ? Pairs(arm, controlArm) : null);
            var time = TimeComparison.Of(CompletedOf(arm.Optimizer), CompletedOf(options.Control), arm.Optimizer, options.Control);
            comparisons.Add(new Comparison(arm.Optimizer, options.Control, result, null, power, TimeRatio: time.Ratio)
                { TimeBasis = time.Basis, NoTimeRatio = time.Missing, TimeConditionsDiffer = time.ConditionsDiffer });
            notes.AddRange(result.Notes.Select(n => $"{arm.Optimizer} vs {options.Control}: {n}"));
            if (UncontrolledTime(trials, arm.Optimizer, options.Control) is { } where)
                notes.Add($"{arm.Optimizer} vs {options.Control}: time ratio not controlled: {where}");
            notes.AddRange(time.Notes.Select(n => $"{arm.Optimizer} vs {options.Control}: {n}"));
            // Only the reasons a power figure is missing; Mann–Whitney's standing caveat is said once per report.
            notes.AddRange(power.Notes.Where(n => n != PowerAnalysis.MannWhitneyNote).Select(n => $"{arm.Optimizer} vs {options.Control}: power: {n}"));
        }
        return new ReportGroup(dataset, model, epochs == 0 ? null : epochs, arms, comparisons,
            trials.Where(t => !t.Completed).ToList(), notes, cell);
    }

    /// <summary>Where the two arms' completed trials ran, when those are different sets of node/device (one arm on a
    /// faster or busier machine skews the time ratio, issue 27); null when the sets agree, an arm has no completed trial,
    /// or a trial does not say where it ran (a trials.csv without node and device).</summary>
    static string? UncontrolledTime(IReadOnlyList<TrialResultRow> trials, string treatment, string control)
    {
        List<string>? Where(string optimizer)
        {
            var done = trials.Where(t => t.Optimizer == optimizer && t.Completed).ToList();
            if (done.Count == 0 || done.Any(t => string.IsNullOrEmpty(t.Node) || string.IsNullOrEmpty(t.Device))) return null;
            return done.Select(t => $"{t.Node}/{t.Device}").Distinct().Order(StringComparer.Ordinal).ToList();
        }
        if (Where(treatment) is not { } a || Where(control) is not { } b || a.SequenceEqual(b)) return null;
        return $"{treatment} ran on {string.Join(", ", a)}, {control} on {string.Join(", ", b)}";
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

    /// <summary>A trial retried after a failure has several rows: the last row of a trial (its id: dataset, model,
    /// optimizer, cell, repeat) is its outcome; earlier ones are superseded (and said so).</summary>
    static List<TrialResultRow> LatestPerTrial(IReadOnlyList<TrialResultRow> rows, List<string> notes)
    {
        var latest = new Dictionary<string, TrialResultRow>();
        var superseded = 0;
        foreach (var row in rows)
        {
            if (latest.ContainsKey(row.TrialId)) superseded++;
            latest[row.TrialId] = row;
        }
        if (superseded > 0)
            notes.Add($"{superseded} row(s) superseded by a later row of the same trial (the last row of a trial counts)");
        return rows.Where(r => ReferenceEquals(latest[r.TrialId], r)).ToList();
    }

    /// <summary>Control first, then SAM, then any others alphabetically: the order of report columns and chart colours.</summary>
    public static List<string> OrderOptimizers(IEnumerable<string> names, string control) =>
        names.OrderBy(n => n == control ? 0 : n == Experiment.Vocabulary.Sam.Name ? 1 : 2).ThenBy(n => n, StringComparer.Ordinal).ToList();
}
