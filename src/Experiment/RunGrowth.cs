using System.Globalization;
using SamCluster.Experiment.Grid;
using SamCluster.Messages;

namespace SamCluster.Experiment;

/// <summary>What running a grid on an existing run folder does: every trial the run already has is kept (with its id,
/// so its journal and files stay its own) and only new ones are added.</summary>
/// <param name="Trials">The run's trials after this grid: the kept ones and the added ones.</param>
public sealed record RunPlan(IReadOnlyList<TrialSpec> Trials, IReadOnlyList<TrialSpec> Added)
{
    public int Kept => Trials.Count - Added.Count;
}

/// <summary>
/// Decides whether a grid may continue a run: it may only add trials (more repeats, datasets, models, optimizers or axis
/// values), never change one the run already has. A kept trial is matched by what it computes, not by its id, so a key
/// that starts to vary (lr: 0.001 → lr: [0.001, 0.01]) keeps the existing trials under their old ids and names only the
/// new cells. A change is refused naming the trial, the key, and its old and new value.
/// </summary>
public static class RunGrowth
{
    public static RunPlan Plan(IReadOnlyList<TrialSpec> existing, IReadOnlyList<TrialSpec> requested)
    {
        var byComputation = requested.GroupBy(Computation).ToDictionary(g => g.Key, g => g.First());
        var kept = new Dictionary<string, TrialSpec>(); // requested natural id → the existing trial it continues
        foreach (var old in existing)
        {
            if (byComputation.TryGetValue(Computation(old), out var same)) kept[same.Key.Id] = same with { Key = old.Key };
            else throw new UserInputException(Refusal(old, requested));
        }
        var keptIds = kept.Values.Select(t => t.Key.Id).ToHashSet();
        var added = requested.Where(t => !kept.ContainsKey(t.Key.Id)).ToList();
        if (added.FirstOrDefault(t => keptIds.Contains(t.Key.Id)) is { } clash)
            throw new UserInputException($"trial {clash.Key.Id} of this grid would take the id of a different trial the run has");
        var trials = requested.Select(t => kept.GetValueOrDefault(t.Key.Id) ?? t).ToList();
        return new RunPlan(trials, added);
    }

    /// <summary>Why <paramref name="old"/> is not in <paramref name="requested"/>: the closest trial of the grid (same id,
    /// else same dataset, model, optimizer and repeat) and the first value that differs, or that it is gone.</summary>
    static string Refusal(TrialSpec old, IReadOnlyList<TrialSpec> requested)
    {
        var candidate = requested.FirstOrDefault(t => t.Key.Id == old.Key.Id)
            ?? requested.FirstOrDefault(t => t.Key with { Cell = null } == old.Key with { Cell = null });
        const string growOnly = "a run can only grow (more repeats, datasets, models, optimizers or axis values)";
        if (candidate is null)
            return $"this grid no longer has trial {old.Key.Id} of the run; {growOnly}";
        var (key, was, now) = Differences(old, candidate).First();
        return $"this grid changes '{key}' of trial {old.Key.Id} from {was} to {now}; {growOnly}";
    }

    /// <summary>The fields that decide what a trial computes, in grid-key terms; where the data lives is left out.</summary>
    static IEnumerable<(string Key, string Value)> Fields(TrialSpec t)
    {
        var (k, d, r) = (t.Key, t.Data, t.Recipe);
        string N(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        yield return ("dataset", k.Dataset);
        yield return ("model", k.Model);
        yield return ("optimizer", k.Optimizer);
        yield return ("repeat", k.Repeat.ToString(CultureInfo.InvariantCulture));
        yield return ("seed", t.Seed.ToString(CultureInfo.InvariantCulture));
        yield return ("classes", string.Join(",", d.Classes));
        yield return ("train_limit", N(d.TrainLimit));
        yield return ("test_limit", N(d.TestLimit));
        yield return ("image_size", N(d.ImageSize));
        yield return ("test_per_class", N(d.TestPerClass));
        yield return ("split_seed", N(d.SplitSeed));
        foreach (var value in RecipeTable.Values(r)) yield return value;
    }

    static string Computation(TrialSpec t) => string.Join("\n", Fields(t).Select(f => $"{f.Key}={f.Value}"));

    static IEnumerable<(string Key, string Was, string Now)> Differences(TrialSpec old, TrialSpec now) =>
        Fields(old).Zip(Fields(now), (was, isNow) => (was.Key, Was: was.Value, Now: isNow.Value)).Where(p => p.Was != p.Now)
            .DefaultIfEmpty(("cell", old.Key.Cell ?? "(none)", now.Key.Cell ?? "(none)"));
}
