using System.Globalization;

namespace SamCluster.Reporting;

/// <summary>A comparison's price in time, measured fairly (issue 27): times are compared only between trials on one
/// device kind (a GPU trial's seconds say nothing of a CPU trial's), from the trials' training throughput (images per
/// second) where every trial has it, else from their seconds; and it says when the trials compared ran under different
/// conditions (torch threads, trials at once on their node).</summary>
/// <param name="Ratio">The treatment's time per trial as a multiple of the control's; null when there is none to give.</param>
/// <param name="Basis">What the ratio was taken from: "images per second on cpu (…)", "seconds"; null without a ratio.</param>
/// <param name="Missing">Why there is no ratio, when the reason is the device kinds; null otherwise.</param>
/// <param name="ConditionsDiffer">True when the trials compared ran with different threads or trials at once; null when
/// the trials do not say.</param>
/// <param name="Notes">What the report says about it, without the comparison's prefix.</param>
public sealed record TimeComparison(double? Ratio, string? Basis, string? Missing, bool? ConditionsDiffer, IReadOnlyList<string> Notes)
{
    /// <summary>The time comparison of <paramref name="treatment"/>'s and <paramref name="control"/>'s completed
    /// trials. Trials that do not say their device (a hand-made trials.csv) are compared as before: mean seconds over all.</summary>
    public static TimeComparison Of(IReadOnlyList<TrialResultRow> treatment, IReadOnlyList<TrialResultRow> control, string treatmentName, string controlName)
    {
        if (treatment.Count == 0 || control.Count == 0) return new(null, null, null, null, []);
        if (treatment.Concat(control).Any(t => t.DeviceKind is null))
            return new(SecondsRatio(treatment, control), "seconds", null, null, []);

        var notes = new List<string>();
        Func<TrialResultRow, string> kindOf = t => t.DeviceKind!;
        var shared = treatment.Select(kindOf).Intersect(control.Select(kindOf)).ToList();
        if (shared.Count == 0 && treatment.Concat(control).Any(t => t.DeviceModel is null))
        {
            // Some trials do not name their device's model (nodes of an older version, a run grown across versions):
            // "cpu" and "cpu (Xeon)" may be one kind, so the kinds are compared by device type alone.
            kindOf = t => t.Device!.Split(':')[0];
            shared = treatment.Select(kindOf).Intersect(control.Select(kindOf)).ToList();
        }
        if (shared.Count == 0)
        {
            var missing = $"{treatmentName} ran only on {Kinds(treatment)}, {controlName} only on {Kinds(control)}";
            return new(null, null, missing, null, [$"no time ratio: {missing}; times on different device kinds are not compared"]);
        }
        // The kind most of the compared trials ran on (ties: by name, so the choice is the same every time).
        var kind = shared.OrderByDescending(k => treatment.Count(t => kindOf(t) == k) + control.Count(t => kindOf(t) == k))
            .ThenBy(k => k, StringComparer.Ordinal).First();
        var a = treatment.Where(t => kindOf(t) == kind).ToList();
        var b = control.Where(t => kindOf(t) == kind).ToList();
        if (a.Count < treatment.Count || b.Count < control.Count)
            notes.Add($"time ratio from the trials on {kind} only ({a.Count} of {treatment.Count} {treatmentName}, {b.Count} of {control.Count} {controlName} trials)");

        double? ratio;
        string basis;
        if (a.Concat(b).All(t => t.ImagesPerSecond > 0))
        {
            // Time per image: the control's throughput over the treatment's.
            ratio = b.Average(t => t.ImagesPerSecond!.Value) / a.Average(t => t.ImagesPerSecond!.Value);
            basis = $"images per second on {kind}";
        }
        else
        {
            ratio = SecondsRatio(a, b);
            basis = $"seconds on {kind}";
        }

        bool? differ = null;
        if (a.Concat(b).Any(t => t.Threads is not null || t.Concurrent is not null))
        {
            var conditions = a.Concat(b).Select(Condition).Distinct().ToList();
            differ = conditions.Count > 1;
            if (differ == true)
                notes.Add($"times measured under different conditions: {treatmentName} {Conditions(a)}; {controlName} {Conditions(b)}");
        }
        return new(ratio, basis, null, differ, notes);
    }

    static double? SecondsRatio(IReadOnlyList<TrialResultRow> treatment, IReadOnlyList<TrialResultRow> control)
    {
        var a = treatment.Where(t => t.Seconds is not null).ToList();
        var b = control.Where(t => t.Seconds is not null).ToList();
        if (a.Count == 0 || b.Count == 0) return null;
        var controlMean = b.Average(t => t.Seconds!.Value);
        return controlMean > 0 ? a.Average(t => t.Seconds!.Value) / controlMean : null;
    }

    static string Kinds(IEnumerable<TrialResultRow> trials) =>
        string.Join(", ", trials.Select(t => t.DeviceKind!).Distinct().Order(StringComparer.Ordinal));

    /// <summary>"4 threads, 2 at once" (a part the trial does not say: "?").</summary>
    static string Condition(TrialResultRow t) =>
        $"{Count(t.Threads, "thread", "threads")}, {(t.Concurrent is { } c ? c.ToString(CultureInfo.InvariantCulture) : "?")} at once";

    static string Count(int? n, string one, string many) => n switch
    {
        null => $"? {many}",
        1 => $"1 {one}",
        _ => $"{n.Value.ToString(CultureInfo.InvariantCulture)} {many}",
    };

    /// <summary>Each condition an arm ran under, with its trials: "with 4 threads, 1 at once (2 trials); 2 threads, 2 at once (1 trial)".</summary>
    static string Conditions(IEnumerable<TrialResultRow> trials) =>
        "with " + string.Join(" and ", trials.GroupBy(Condition).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => $"{g.Key} ({Count(g.Count(), "trial", "trials")})"));
}
