using SamCluster.Experiment.Grid;
using SamCluster.RunStore;
using Xunit;
using Xunit.Abstractions;

namespace SamCluster.Tests.BadInput;

/// <summary>`tail` and `report` on folders, trial ids and CSV files that are not what they should be.</summary>
[Collection(InProcessCli.Name)]
public sealed class TailAndReportTests(ITestOutputHelper log) : BadInputTest(log)
{
    const string Header = "dataset,model,optimizer,repeat,status,train_acc,test_acc,seconds,epochs";

    string RunDir => Path.Combine(Work, "run");

    void MakeRunFolder()
    {
        var grid = WriteFile("grid.yaml", ValidGrid(Work));
        RunFolder.Prepare(RunDir, grid, GridExpander.Expand(GridConfigLoader.Load(grid))).Dispose();
    }

    [Fact]
    public void Tail_refuses_a_trial_the_run_does_not_have()
    {
        MakeRunFolder();
        Refused(Run("tail", "run", "fashion-mnist/resnet34/sam/1", "--no-follow"),
            "no trial 'fashion-mnist/resnet34/sam/1'", "fashion-mnist/resnet18/");
        Refused(Run("tail", "run", "fashion-mnist/resnet18/sam/9", "--no-follow"), "no trial 'fashion-mnist/resnet18/sam/9'");
    }

    [Theory]
    [InlineData("resnet18")]
    [InlineData("fashion-mnist/resnet18/sam/first")]
    [InlineData("fashion-mnist//sam/1")]
    public void Tail_refuses_a_malformed_trial_id(string id)
    {
        MakeRunFolder();
        Refused(Run("tail", "run", id, "--no-follow"), $"'{id}' is not a trial id");
    }

    [Fact]
    public void Tail_refuses_a_missing_folder_and_a_folder_that_is_not_a_run()
    {
        Refused(Run("tail", "no-such-run", "fashion-mnist/resnet18/sam/1"), "'no-such-run' does not exist");
        Directory.CreateDirectory(RunDir);
        Refused(Run("tail", "run", "fashion-mnist/resnet18/sam/1"), "'run' is not a SamCluster run folder");
    }

    [Fact]
    public void Tail_without_follow_says_when_a_trial_has_not_started()
    {
        MakeRunFolder();
        Refused(Run("tail", "run", "fashion-mnist/resnet18/sam/1", "--no-follow"), "has no log yet");
    }

    [Fact]
    public void Report_refuses_a_missing_file_or_folder()
    {
        Refused(Run("report", "no-such-trials.csv"), "no-such-trials.csv", "no such file or folder");
        Directory.CreateDirectory(RunDir);
        Refused(Run("report", "run"), "run", "has no trials.csv");
        Refused(Run("report", "no-such-run", "--write"), "no-such-run");
    }

    [Theory]
    [InlineData("", "empty file")]
    [InlineData("dataset,model\nfashion-mnist,resnet18\n", "missing columns 'optimizer', 'repeat'")]
    [InlineData(Header + "\nfashion-mnist,resnet18,sgd,1,completed,90.1,eighty,12.5,2\n", "trials.csv:2:")]
    [InlineData(Header + "\nfashion-mnist,resnet18,sgd,1,done,90.1,80.2,12.5,2\n", "trials.csv:2:")]
    [InlineData(Header + "\nfashion-mnist,resnet18,sgd,1,completed,90.1,80.2,12.5,2\n\"fashion-mnist,resnet18,sam,1,completed,91,81,13,2\n", "trials.csv:3:")]
    public void Report_refuses_a_bad_csv_naming_file_and_line(string csv, string problem)
    {
        WriteFile("trials.csv", csv);
        Refused(Run("report", "trials.csv"), "trials.csv", problem);
    }

    [Fact]
    public void Report_write_on_a_bad_csv_leaves_the_run_folder_as_it_was()
    {
        Directory.CreateDirectory(RunDir);
        File.WriteAllText(Path.Combine(RunDir, "trials.csv"), Header + "\nfashion-mnist,resnet18,sgd,1,completed,90.1,eighty,12.5,2\n");
        File.WriteAllText(Path.Combine(RunDir, "report.md"), "the report of an earlier, good run");
        var before = FolderSnapshot.Take(RunDir);
        Refused(Run("report", "run", "--write"), "trials.csv:2:");
        FolderSnapshot.AssertUnchanged(before, RunDir);
    }

    [Fact]
    public void Report_refuses_a_pipe_or_a_device_within_seconds()
    {
        MakeFifo("trials.csv");
        RefusedWithin(10, Run("report", "trials.csv"), "trials.csv", "not a regular file");
        RefusedWithin(10, Run("report", "/dev/zero"), "/dev/zero", "not a regular file");
    }

    [Fact]
    public void Report_refuses_a_bad_option_value()
    {
        WriteFile("trials.csv", Header + "\n");
        Refused(Run("report", "trials.csv", "--test", "anova"), "anova", "welch, student, paired or mann-whitney");
        Refused(Run("report", "trials.csv", "--format", "xlsx"), "xlsx");
    }

    [Fact]
    public void Tail_of_a_trial_whose_log_is_a_pipe_is_refused_at_once_not_waited_on()
    {
        ExistingRun();
        File.Delete(Path.Combine(OutDir, "logs", "fashion-mnist", "resnet18", "sgd", "1.log"));
        MakeFifo(Path.Combine("run", "logs", "fashion-mnist", "resnet18", "sgd", "1.log"));
        RefusedWithin(5, Run("tail", "run", "fashion-mnist/resnet18/sgd/1"), "sgd/1.log", "not a regular file", "not a trial's log");
    }

    [Fact]
    public void Tail_of_a_finished_trial_whose_log_was_removed_says_so_instead_of_waiting_forever()
    {
        ExistingRun();
        File.Delete(Path.Combine(OutDir, "logs", "fashion-mnist", "resnet18", "sgd", "1.log"));
        var before = FolderSnapshot.Take(OutDir);
        RefusedWithin(10, Run("tail", "run", "fashion-mnist/resnet18/sgd/1"), "has finished but its log", "trials.csv");
        FolderSnapshot.AssertUnchanged(before, OutDir);
    }
}
