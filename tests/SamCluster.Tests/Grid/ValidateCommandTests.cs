using SamCluster.Cli.Commands;
using SamCluster.Messages;
using Xunit;

namespace SamCluster.Tests.Grid;

public class ValidateCommandTests
{
    [Fact]
    public void Prints_a_one_line_summary_of_a_good_grid()
    {
        var output = new StringWriter();
        var path = GridTestFiles.Grid("paper.yaml");

        Assert.Equal(0, ValidateCommand.Validate(path, checkData: false, listTrials: false, output, TextWriter.Null));

        var line = Assert.Single(output.ToString().TrimEnd().Split('\n'));
        Assert.StartsWith($"{path}: ok — 40 trials (2 datasets × 2 models × 2 optimizers × 5 repeats), estimated compute ", line);
        Assert.Contains("longest trial stanford-dogs/resnet34/sam/1", line);
    }

    [Fact]
    public void Lists_the_trials_longest_first()
    {
        var output = new StringWriter();
        ValidateCommand.Validate(GridTestFiles.Grid("quick.yaml"), checkData: false, listTrials: true, output, TextWriter.Null);

        var lines = output.ToString().TrimEnd().Split('\n');
        Assert.Equal(13, lines.Length);
        Assert.StartsWith("fashion-mnist/resnet34/sam/1 ", lines[1]);
        Assert.StartsWith("fashion-mnist/resnet18/sgd/3 ", lines[^1]);
    }

    [Fact]
    public void Lists_every_problem_then_fails_with_their_count()
    {
        using var temp = new TempFolder();
        var path = temp.File("bad.yaml", "datasets: [mnist]\nmodels: [resnet18]\noptimizers: [sgd]\nrepeats: 0\n"u8.ToArray());
        var errors = new StringWriter();

        var error = Assert.Throws<UserInputException>(() => ValidateCommand.Validate(path, false, false, TextWriter.Null, errors));

        Assert.Equal($"{path}: 2 problems (listed above)", error.Message);
        Assert.Equal(
            $"{path}:1:12: unknown dataset 'mnist' in 'datasets' (known: fashion-mnist, stanford-dogs)\n"
            + $"{path}:4:10: 'repeats' must be at least 1, not 0\n", errors.ToString());
    }

    [Fact]
    public void A_single_problem_is_the_error_itself()
    {
        using var temp = new TempFolder();
        var path = temp.File("bad.yaml", "datasets: [fashion-mnist]\nmodels: [resnet18]\noptimizers: [sgd]\nrepeats: 0\n"u8.ToArray());

        var error = Assert.Throws<UserInputException>(() => ValidateCommand.Validate(path, false, false, TextWriter.Null, TextWriter.Null));

        Assert.Equal($"{path}:4:10: 'repeats' must be at least 1, not 0", error.Message);
    }

    [Fact]
    public void Check_data_refuses_a_missing_data_folder()
    {
        using var temp = new TempFolder();
        var path = temp.File("grid.yaml", "datasets: [fashion-mnist]\nmodels: [resnet18]\noptimizers: [sgd]\nrepeats: 1\ndata: {fashion-mnist: {path: missing}}\n"u8.ToArray());

        Assert.Equal(0, ValidateCommand.Validate(path, checkData: false, false, TextWriter.Null, TextWriter.Null));
        var error = Assert.Throws<UserInputException>(() => ValidateCommand.Validate(path, checkData: true, false, TextWriter.Null, TextWriter.Null));
        Assert.Contains($"'{Path.Combine(temp.Path, "missing")}' ({path}:5:30) does not exist on this machine", error.Message);
    }
}
