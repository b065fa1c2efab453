using System.CommandLine;
using SamCluster.Experiment.Grid;
using SamCluster.RunStore;
using SamCluster.Messages;
using SamCluster.Experiment;
using SamCluster.Reporting.Sequential;

namespace SamCluster.Cli.Commands;

/// <summary>`samcluster validate GRID.yaml`: checks a grid file completely without running anything.</summary>
public static class ValidateCommand
{
    public static Command Create()
    {
        var grid = new Argument<string>("grid") { Description = "The grid file (YAML; see deploy/grids/README.md)." };
        var checkData = new Option<bool>("--check-data")
        {
            Description = "Also read each dataset's data on this machine as the trials will (files, checksums, classes, limits), refusing bad data.",
        };
        var trials = new Option<bool>("--trials") { Description = "List the trials in the order they will start." };
        var against = new Option<string?>("--against")
        {
            HelpName = "run-dir",
            Description = "A run folder: print what running this grid on it would add (or why it would be refused); nothing is run or written.",
        };
        var command = new Command("validate", "Check a grid file and print what it would run; exit 2 if it has problems.")
        {
            grid, checkData, trials, against,
        };
        command.SetAction(parse => Program.Run(() =>
        {
            var config = Check(parse.GetValue(grid)!, parse.GetValue(checkData), parse.GetValue(trials), Console.Out, Console.Error);
            return parse.GetValue(against) is { } runDir ? Against(config, runDir, Console.Out) : Program.Ok;
        }));
        return command;
    }

    /// <summary>What the grid would do to an existing run: the trials it keeps and adds, or the refusal `local` and
    /// `coordinator` would give (as a UserInputException).</summary>
    public static int Against(GridConfig grid, string runDir, TextWriter output)
    {
        var folder = RunFolder.Open(runDir);
        // It may still be validated against (nothing is written), but what it says may change while its owner runs.
        if (RunFolderLock.IsHeld(folder.Root))
            output.WriteLine(ConsoleText.Escape($"{runDir}: in use by {RunFolderLock.Holder(folder.Root)} (a coordinator or `local` running it): " +
                                                "running this grid on it is refused until that run ends"));
        RunPlan plan;
        var manifest = RunManifestFile.Read(Path.Combine(folder.Root, RunManifestFile.FileName));
        try
        {
            plan = RunGrowth.Plan(RunFolder.TrialsOf(folder.Root, manifest), GridExpander.Expand(grid));
            RunFolder.CheckSameDesign(manifest, grid.Sequential, plan, runDir);
        }
        catch (UserInputException e)
        {
            throw new UserInputException($"{runDir}: refused: {e.Message}");
        }
        if (plan.Added.Count == 0)
        {
            output.WriteLine(ConsoleText.Escape($"{runDir}: this grid adds nothing; running it resumes the run's {plan.Kept} trials"));
            if (manifest.Sequential is { } sequential) WriteLooks(sequential, folder.Root, plan.Trials, output);
            return Program.Ok;
        }
        output.WriteLine(ConsoleText.Escape($"{runDir}: this grid keeps the run's {plan.Kept} trials and adds {plan.Added.Count}:"));
        foreach (var trial in plan.Added) output.WriteLine(ConsoleText.Escape($"  + {trial.Key.Id}"));
        return Program.Ok;
    }

    /// <summary>A sequential run's comparisons as its finished trials (trials.csv) decide them: what the coordinator has
    /// decided, or will decide first when started again.</summary>
    static void WriteLooks(SequentialPlan plan, string root, IReadOnlyList<TrialSpec> trials, TextWriter output)
    {
        var table = Path.Combine(root, RunFiles.TrialsTable);
        var rows = File.Exists(table) ? Reporting.ResultsCsv.ReadTrials(table) : [];
        var finished = rows.Select(r => new LookInput(TrialKey.Parse(r.TrialId), r.Completed ? r.TestAcc : null)).ToList();
        var study = SequentialStudy.Of(plan, trials.Select(t => t.Key));
        foreach (var comparison in study.Comparisons)
        {
            var looks = study.Walk(comparison, finished);
            var title = Vocabulary.FindOptimizer(comparison.Treatment)?.Title ?? comparison.Treatment;
            var state = looks.Count == 0 ? $"look 1 of {plan.Looks.Count}: running" : looks[^1].Describe(title, plan.MarginPp);
            output.WriteLine(ConsoleText.Escape($"  {comparison.Id} vs {comparison.Control}: {state}"));
        }
    }

    /// <summary>Prints the summary (and the trials) to <paramref name="output"/> and returns 0; when the grid has
    /// problems, writes all but the last to <paramref name="errors"/> and throws UserInputException with the last.</summary>
    public static int Validate(string path, bool checkData, bool listTrials, TextWriter output, TextWriter errors)
    {
        Check(path, checkData, listTrials, output, errors);
        return Program.Ok;
    }

    /// <summary>As <see cref="Validate"/>, returning the grid it read.</summary>
    static GridConfig Check(string path, bool checkData, bool listTrials, TextWriter output, TextWriter errors)
    {
        var check = GridConfigLoader.Check(path);
        if (!check.Ok)
        {
            if (check.Problems.Count == 1) throw new UserInputException(check.Problems[0].ToString());
            foreach (var problem in check.Problems) errors.WriteLine(ConsoleText.Escape(problem.ToString()));
            throw new UserInputException($"{path}: {check.Problems.Count} problems (listed above)");
        }
        var config = check.Grid!;
        if (checkData)
        {
            config.CheckLocalDataPaths();
            Training.TorchRuntime.Initialize(Training.TorchRuntime.ResolveDirectory(null));
            Training.Data.DatasetLoader.CheckAll(GridExpander.Expand(config).Select(t => t.Data));
        }
        output.WriteLine(ConsoleText.Escape($"{path}: ok — {GridSummary.Describe(config)}"));
        if (listTrials)
            foreach (var line in GridSummary.TrialLines(config)) output.WriteLine(ConsoleText.Escape(line));
        return config;
    }
}
