using SamCluster.Tests.Cluster;
using Xunit;
using Xunit.Abstractions;

namespace SamCluster.Tests.BadInput;

/// <summary>Grid files that are not a valid grid: each refused with file and line, before anything starts.</summary>
[Collection(InProcessCli.Name)]
public sealed class GridFileTests(ITestOutputHelper log) : BadInputTest(log)
{
    string BrokenGrid(string line, string replacement)
    {
        var valid = ValidGrid(Work);
        Assert.Contains(line, valid);
        return WriteFile("grid.yaml", valid.Replace(line, replacement));
    }

    [Theory]
    [InlineData("datasets: [fashion-mnist]", "datasets: [cifar-10]", "grid.yaml:1:", "unknown dataset 'cifar-10'")]
    [InlineData("models: [resnet18]", "models: [resnet50]", "grid.yaml:2:", "unknown model 'resnet50'")]
    [InlineData("optimizers: [sgd, sam]", "optimizers: [sgd, adam]", "grid.yaml:3:", "unknown optimizer 'adam'")]
    [InlineData("repeats: 2", "repeats: 0", "grid.yaml:4:", "'repeats' must be at least 1")]
    [InlineData("repeats: 2", "repeats: -2", "grid.yaml:4:", "'repeats' must be at least 1")]
    [InlineData("  epochs: 2", "  epochs: 0", "grid.yaml:6:", "'recipe.epochs' must be at least 1")]
    [InlineData("  epochs: 2", "  epochs: -5", "grid.yaml:6:", "'recipe.epochs' must be at least 1")]
    [InlineData("  epochs: 2", "  epochs: ten", "grid.yaml:6:", "'recipe.epochs' must be a whole number")]
    [InlineData("  batch_size: 64", "  batch_size: 0", "grid.yaml:7:", "'recipe.batch_size' must be at least")]
    [InlineData("  batch_size: 64", "  batch_size: -64", "grid.yaml:7:", "'recipe.batch_size' must be at least")]
    [InlineData("  lr: 0.001", "  lr: 0", "grid.yaml:8:", "'recipe.lr' must be above 0")]
    [InlineData("  lr: 0.001", "  lr: -0.001", "grid.yaml:8:", "'recipe.lr' must be above 0")]
    [InlineData("  rho: 0.05", "  rho: -0.05", "grid.yaml:9:", "'recipe.rho' must be at least 0")]
    [InlineData("  epochs: 2", "  epoch: 2", "grid.yaml:6:", "unknown key 'epoch'")]
    public void A_bad_value_is_named_with_its_line(string line, string replacement, string location, string problem)
    {
        BrokenGrid(line, replacement);
        Refused(Run("validate", "grid.yaml"), location, problem);
    }

    [Fact]
    public void Malformed_yaml_is_refused_with_its_line()
    {
        BrokenGrid("optimizers: [sgd, sam]", " optimizers: [sgd, sam]");
        Refused(Run("validate", "grid.yaml"), "grid.yaml:3:", "not valid YAML");
    }

    [Fact]
    public void An_unclosed_bracket_is_refused_with_its_line()
    {
        WriteFile("grid.yaml", "datasets: [fashion-mnist\nmodels: [resnet18]\n");
        Refused(Run("validate", "grid.yaml"), "grid.yaml:", "not valid YAML");
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n\n   \n")]
    [InlineData("# only a comment\n")]
    public void An_empty_grid_is_refused(string text)
    {
        WriteFile("grid.yaml", text);
        Refused(Run("validate", "grid.yaml"), "grid.yaml", "is empty");
    }

    [Fact]
    public void A_grid_file_past_the_size_limit_is_refused_at_the_limit()
    {
        // 2 MiB of comments: a regular file, read up to the 1 MiB a grid may have, then refused.
        WriteFile("huge.yaml", string.Concat(Enumerable.Repeat("# " + new string('x', 1022) + "\n", 2048)));
        RefusedWithin(10, Run("validate", "huge.yaml"), "huge.yaml", "is larger than 1,024 KiB");
    }

    [Fact]
    public void A_pipe_or_a_device_given_as_the_grid_is_refused_within_seconds()
    {
        MakeFifo("grid.fifo");
        RefusedWithin(10, Run("validate", "grid.fifo"), "grid.fifo", "not a regular file");
        RefusedWithin(10, Run("validate", "/dev/zero"), "/dev/zero", "not a regular file");
        Refused(Run("local", "grid.fifo", "--out", "run", "--nodes", "1"), "grid.fifo", "not a regular file");
        Assert.False(Directory.Exists(Path.Combine(Work, "run")));
    }

    [Fact]
    public void A_binary_file_is_refused()
    {
        File.WriteAllBytes(Path.Combine(Work, "grid.yaml"), [0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x03]);
        Refused(Run("validate", "grid.yaml"), "grid.yaml", "binary");
    }

    [Fact]
    public void A_file_that_is_not_utf8_is_refused_with_its_line()
    {
        // Latin-1 'é' (0xE9) on line 2.
        File.WriteAllBytes(Path.Combine(Work, "grid.yaml"), [.. "datasets: [fashion-mnist]\nmodels: [r"u8, 0xE9, .. "snet18]\n"u8]);
        Refused(Run("validate", "grid.yaml"), "grid.yaml:2:", "not UTF-8");
    }

    [Fact]
    public void A_grid_that_does_not_exist_is_refused()
    {
        Refused(Run("validate", "nothere.yaml"), "nothere.yaml", "not found");
        Refused(Run("coordinator", "nothere.yaml", "--out", "run", "--port", ProcessTests.FreePort().ToString()), "nothere.yaml", "not found");
        Assert.False(Directory.Exists(Path.Combine(Work, "run")), "a refused run created its --out folder");
    }

    [Fact]
    public void A_folder_given_as_the_grid_is_refused()
    {
        Refused(Run("validate", "."), "is a folder");
    }

    /// <summary>The run commands print one line even for several problems (validate lists them all, one per line). End
    /// to end, in a process of its own.</summary>
    [Fact]
    public void The_run_commands_print_the_first_of_several_problems_in_one_line()
    {
        WriteFile("grid.yaml", ValidGrid(Work).Replace("repeats: 2", "repeats: 0").Replace("  lr: 0.001", "  lr: -1"));
        Refused(Cli.Run(Work, "coordinator", "grid.yaml", "--out", "run", "--port", ProcessTests.FreePort().ToString()),
            "grid.yaml:4:", "and 1 more problem", "samcluster validate grid.yaml");
        Refused(Cli.Run(Work, "local", "grid.yaml", "--out", "run"), "grid.yaml:4:");
        Assert.False(Directory.Exists(Path.Combine(Work, "run")), "a refused run created its --out folder");
    }
}
