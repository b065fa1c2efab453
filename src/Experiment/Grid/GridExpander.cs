using SamCluster.Messages;

namespace SamCluster.Experiment.Grid;

/// <summary>Turns a grid into its trials.</summary>
public static class GridExpander
{
    /// <summary>One trial per dataset × model × optimizer × recipe cell × repeat (repeats numbered from 1), in the order
    /// the grid file lists them, dataset outermost. Ids and seeds depend only on the trial itself and the grid seed, so
    /// they are the same in every run and for any order of the lists; every cell of a repeat shares its seed.</summary>
    public static IReadOnlyList<TrialSpec> Expand(GridConfig grid)
    {
        var trials = new List<TrialSpec>(grid.TrialCount);
        foreach (var dataset in grid.Datasets)
        {
            var plan = grid.PlanFor(dataset);
            foreach (var model in grid.Models)
                foreach (var optimizer in grid.Optimizers)
                    foreach (var (cell, recipe) in plan.Cells(optimizer))
                        for (var repeat = 1; repeat <= grid.Repeats; repeat++)
                        {
                            var key = new TrialKey(dataset, model, optimizer, repeat, cell.Text);
                            trials.Add(new TrialSpec(key, key.DeriveSeed(grid.Seed), plan.Data, recipe));
                        }
        }
        return trials;
    }
}
