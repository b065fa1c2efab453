using SamCluster.Experiment;
using SamCluster.Experiment.Grid;
using SamCluster.Messages;
using SamCluster.Reporting;
using SamCluster.RunStore;
using SamCluster.Tests.BadInput;
using Xunit;
using Xunit.Abstractions;

namespace SamCluster.Tests.SequentialStudies;

/// <summary>A sequential run keeps the design it started with (issue 23, point 7): another design, no design, or more
/// trials are refused — by `local`/`coordinator` (the run folder) and `validate --against` alike — and leave run.json as
/// it was; `validate --against` says where each comparison's looks stand.</summary>
[Collection(InProcessCli.Name)]
public sealed class SequentialRunFolderTests(ITestOutputHelper log) : BadInputTest(log)
{
    string Grid(string name, string sequential, string models = "[resnet18]", int repeats = 4) => WriteFile(name, $"""
        datasets: [fashion-mnist]
        models: {models}
        optimizers: [sgd, sam]
        repeats: {repeats}
        {sequential}
        data:
          fashion-mnist:
            path: /nowhere
        """);

    const string TwoLooks = "sequential: {looks: [2, 4], alpha: 0.05, spending: obrien-fleming}";

    string Out => Path.Combine(Work, "run");

    string StartRun(string grid)
    {
        var config = GridConfigLoader.Load(grid);
        RunFolder.Prepare(Out, grid, GridExpander.Expand(config), sequential: config.Sequential).Dispose();
        return File.ReadAllText(Path.Combine(Out, RunManifestFile.FileName));
    }

    void AssertRefusedByTheFolder(string grid, params string[] mentions)
    {
        var manifest = File.ReadAllText(Path.Combine(Out, RunManifestFile.FileName));
        var config = GridConfigLoader.Load(grid);
        var e = Assert.Throws<UserInputException>(() =>
            RunFolder.Prepare(Out, grid, GridExpander.Expand(config), sequential: config.Sequential).Dispose());
        foreach (var mention in mentions) Assert.Contains(mention, e.Message);
        Assert.Equal(manifest, File.ReadAllText(Path.Combine(Out, RunManifestFile.FileName)));
        Refused(InProcessCli.RunWithin(TimeSpan.FromSeconds(60), Work, "validate", grid, "--against", Out), mentions);
    }

    [Fact]
    public void The_design_is_recorded_in_run_json_and_the_same_grid_resumes()
    {
        var grid = Grid("seq.yaml", TwoLooks);
        Assert.Contains("\"sequential\"", StartRun(grid));
        Assert.Equal(SequentialPlan.OBrienFleming, RunManifestFile.TryRead(Out)!.Sequential!.Spending);
        StartRun(grid);   // resumes: same design, same trials
    }

    [Fact]
    public void Another_design_or_none_is_refused_naming_the_key()
    {
        StartRun(Grid("seq.yaml", TwoLooks));
        AssertRefusedByTheFolder(Grid("pocock.yaml", "sequential: {looks: [2, 4], alpha: 0.05, spending: pocock}"), "'sequential'", "pocock", "fixed before the run starts");
        AssertRefusedByTheFolder(Grid("fixed.yaml", ""), "'sequential'", "absent", "fixed before the run starts");
    }

    [Fact]
    public void A_fixed_run_does_not_become_sequential()
    {
        StartRun(Grid("fixed.yaml", ""));
        AssertRefusedByTheFolder(Grid("seq.yaml", TwoLooks), "'sequential'", "absent (every repeat runs)");
    }

    [Fact]
    public void A_sequential_run_does_not_grow()
    {
        StartRun(Grid("seq.yaml", TwoLooks));
        AssertRefusedByTheFolder(Grid("more.yaml", TwoLooks, models: "[resnet18, resnet34]"), "sequential run cannot grow", "resnet34");
    }

    [Fact]
    public void Validate_against_a_sequential_run_says_where_each_comparisons_looks_stand()
    {
        var grid = Grid("seq.yaml", TwoLooks);
        StartRun(grid);
        // Look 1 done, and nothing to tell the arms apart: it continues.
        var rows = Enumerable.Range(1, 2).SelectMany(r => new[] { "sgd", "sam" }.Select(o =>
            new TrialResultRow("fashion-mnist", "resnet18", o, r, true, 90, r == 1 ? 70 : 76, 1, 1, null, 0))).ToList();
        File.WriteAllText(Path.Combine(Out, RunFiles.TrialsTable), ResultsCsv.WriteTrials(rows));
        var run = InProcessCli.RunWithin(TimeSpan.FromSeconds(60), Work, "validate", grid, "--against", Out);
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("fashion-mnist/resnet18/sam vs sgd: look 1 of 2: continue", run.Stdout);
    }
}
