using System.Text.Json.Nodes;
using SamCluster.Reporting.Sequential;
using SamCluster.Tests.BadInput;
using Xunit;
using Xunit.Abstractions;

namespace SamCluster.Tests.SequentialStudies;

/// <summary>`samcluster design`: the design from flags or a grid, as text and JSON (the keys users script against),
/// simulated on request; bad input one line and exit 2.</summary>
[Collection(InProcessCli.Name)]
public sealed class DesignCommandTests(ITestOutputHelper log) : BadInputTest(log)
{
    CliRun Design(params string[] args) => InProcessCli.RunWithin(TimeSpan.FromSeconds(60), Work, ["design", .. args]);

    static JsonNode Json(CliRun run)
    {
        Assert.True(run.ExitCode == 0, run.ToString());
        return JsonNode.Parse(run.Stdout)!;
    }

    static double[] Numbers(JsonNode json, string key) => json[key]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();

    [Fact]
    public void Json_has_the_design_keys_with_the_designs_figures()
    {
        var json = Json(Design("--looks", "5,10,20,30", "--alpha", "0.05", "--spending", "obrien-fleming", "--format", "json"));
        var design = GroupSequentialDesign.Create([5, 10, 20, 30], 0.05, SpendingFamily.OBrienFleming);
        Assert.Equal([5, 10, 20, 30], Numbers(json, "looks"));
        Assert.Equal(0.05, json["alpha"]!.GetValue<double>());
        Assert.Equal("obrien-fleming", json["spending"]!.GetValue<string>());
        Assert.Equal(design.CriticalZ, Numbers(json, "critical_z"));
        Assert.Equal(design.NominalAlpha, Numbers(json, "nominal_alpha"));
        Assert.Equal(design.CumulativeAlpha, Numbers(json, "cumulative_alpha"));
        Assert.Null(json["simulations"]);
    }

    [Fact]
    public void Text_is_a_table_of_looks()
    {
        var run = Design("--looks", "2,4", "--spending", "pocock");
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("2 looks at 2, 4 repeats per arm", run.Stdout);
        Assert.Contains("| 2 | 4 | 1 |", run.Stdout);
    }

    [Fact]
    public void A_simulation_under_h0_gives_the_type_one_error_and_under_an_effect_the_power()
    {
        var h0 = Json(Design("--looks", "3,6,9", "--simulate", "2000", "--format", "json"));
        Assert.Equal(2000, h0["simulations"]!.GetValue<int>());
        Assert.InRange(h0["type1_error"]!.GetValue<double>(), 0, 0.1);
        Assert.InRange(h0["expected_repeats_h0"]!.GetValue<double>(), 3, 9);
        Assert.Null(h0["power"]);

        var effect = Json(Design("--looks", "3,6,9", "--simulate", "2000", "--effect-pp", "2", "--sd-pp", "1", "--format", "json"));
        Assert.True(effect["power"]!.GetValue<double>() > 0.5);
        Assert.True(effect["expected_repeats"]!.GetValue<double>() < 9);
        Assert.Null(effect["type1_error"]);
    }

    /// <summary>A grid of 4 repeats whose `sequential` key has looks 2, 4 and Pocock spending at <paramref name="alpha"/>.</summary>
    string SequentialGrid(string alpha) => WriteFile("seq.yaml", $$"""
        datasets: [fashion-mnist]
        models: [resnet18]
        optimizers: [sgd, sam]
        repeats: 4
        sequential: {looks: [2, 4], alpha: {{alpha}}, spending: pocock}
        """);

    [Fact]
    public void A_grid_files_key_is_its_design()
    {
        var grid = SequentialGrid(alpha: "0.025");
        var json = Json(Design(grid, "--format", "json"));
        Assert.Equal([2, 4], Numbers(json, "looks"));
        Assert.Equal("pocock", json["spending"]!.GetValue<string>());
        Assert.Equal(0.025, json["alpha"]!.GetValue<double>());
    }

    [Theory]
    [InlineData(new[] { "--alpha", "0.05" }, "--looks is required")]
    [InlineData(new[] { "--looks", "5,3" }, "--looks must increase: 3 comes after 5")]
    [InlineData(new[] { "--looks", "1,4" }, "--looks: each look must be a whole number from 2 to 1000, not '1'")]
    [InlineData(new[] { "--looks", "2,x" }, "not 'x'")]
    [InlineData(new[] { "--looks", "2,4", "--alpha", "0.7" }, "--alpha must be above 0 and below 0.5, not 0.7")]
    [InlineData(new[] { "--looks", "2,4", "--spending", "haybittle" }, "--spending must be one of obrien-fleming, pocock, not 'haybittle'")]
    [InlineData(new[] { "--looks", "2,4", "--effect-pp", "1" }, "--effect-pp and --sd-pp describe a simulation: add --simulate N")]
    [InlineData(new[] { "--looks", "2,4", "--simulate", "0" }, "--simulate must be between 1 and 10000000, not 0")]
    [InlineData(new[] { "--looks", "2,4", "--simulate", "10", "--sd-pp", "0" }, "--sd-pp must be one sd or two (SAM,CONTROL)")]
    [InlineData(new[] { "--looks", "2,4", "--format", "yaml" }, "--format must be text or json, not 'yaml'")]
    public void Bad_flags_are_one_line_and_exit_2(string[] args, string problem)
    {
        Refused(Design(args), problem);
    }

    [Fact]
    public void A_grid_without_the_key_or_with_flags_beside_it_is_refused()
    {
        var plain = WriteFile("plain.yaml", "datasets: [fashion-mnist]\nmodels: [resnet18]\noptimizers: [sgd, sam]\nrepeats: 3\n");
        Refused(Design(plain), "has no 'sequential' key");
        Refused(Design(plain, "--looks", "2,3"), "give a grid file or the design's flags");
    }
}
