using SamCluster.Reporting;
using SamCluster.Messages;
using Xunit;

namespace SamCluster.Tests.Reporting;

public class RunFilesTests
{
    const string FullHeader = "dataset,model,optimizer,repeat,seed,status,epochs,train_acc,test_acc,train_loss,test_loss,seconds,node,device,attempts,reason";

    static IReadOnlyList<TrialRow> Trials(string text) => RunFiles.ParseTrials(CsvTable.Parse("trials.csv", text));

    [Fact]
    public void Reads_the_full_format_with_a_quoted_reason_containing_commas_quotes_and_a_line_break()
    {
        var rows = Trials(FullHeader + "\n" +
                          "fashion-mnist,resnet18,sgd,0,42,completed,20,99.9,99.3,0.01,0.03,612.5,node-1,cuda:0,1,\n" +
                          "fashion-mnist,resnet18,sam,0,42,failed,3,,,,,,node-2,cuda:0,3,\"OOM, \"\"batch 128\"\"\nretried\"\r\n" +
                          "fashion-mnist,resnet18,sam,1,43,completed,20,99.8,99.4,0.01,0.03,1200,node-2,cuda:0,1,\n");
        Assert.Equal(3, rows.Count);
        Assert.True(rows[0].Completed);
        Assert.Equal(99.3, rows[0].TestAcc);
        Assert.Equal(20, rows[0].Epochs);
        Assert.False(rows[1].Completed);
        Assert.Null(rows[1].TestAcc);
        Assert.Equal("OOM, \"batch 128\"\nretried", rows[1].Reason);
        Assert.Equal(5, rows[2].Line);   // the quoted line break counts as a line
    }

    [Fact]
    public void Reads_minimal_columns_in_any_order_and_ignores_extra_ones()
    {
        var rows = Trials("seconds,test_acc,repeat,extra,optimizer,train_acc,model,dataset\n12.5,80.1,2,x,SAM,99.0,resnet18,stanford-dogs\n");
        var row = Assert.Single(rows);
        Assert.Equal(("stanford-dogs", "resnet18", "sam", 2), (row.Dataset, row.Model, row.Optimizer, row.Repeat));
        Assert.True(row.Completed);   // no status column: completed
        Assert.Equal((99.0, 80.1, 12.5), (row.TrainAcc, row.TestAcc, row.Seconds));
    }

    [Fact]
    public void A_non_numeric_cell_names_file_line_and_column()
    {
        var e = Assert.Throws<UserInputException>(() =>
            Trials("dataset,model,optimizer,repeat,train_acc,test_acc,seconds\nd,m,sgd,0,99,80,10\nd,m,sgd,1,99,abc,10\n"));
        Assert.Equal("trials.csv:3: column 'test_acc' must be a number, got 'abc'", e.Message);
    }

    [Fact]
    public void Missing_columns_are_all_named()
    {
        var e = Assert.Throws<UserInputException>(() => Trials("dataset,model,optimizer,train_acc\n"));
        Assert.Equal("trials.csv:1: missing columns 'repeat', 'test_acc', 'seconds'", e.Message);
    }

    [Theory]
    [InlineData("dataset,model,optimizer,repeat,train_acc,test_acc,seconds,status\nd,m,sgd,0,99,80,10,done\n", "'status' must be 'completed' or 'failed'")]
    [InlineData("dataset,model,optimizer,repeat,train_acc,test_acc,seconds\nd,m,sgd,0.5,99,80,10\n", "column 'repeat' must be an integer")]
    [InlineData("dataset,model,optimizer,repeat,train_acc,test_acc,seconds\nd,m,sgd,0,99,80,10,extra\n", "8 cells but the header has 7")]
    [InlineData("dataset,model,optimizer,repeat,train_acc,test_acc,seconds\nd,m,sgd,0,99,\"80,10\n", "never closed")]
    [InlineData("dataset,model,optimizer,repeat,train_acc,test_acc,seconds\nd,m,sgd,0,99,NaN,10\n", "column 'test_acc' must be a number")]
    [InlineData("", "empty file")]
    public void Bad_input_is_a_user_error_with_line(string text, string expected)
    {
        var e = Assert.Throws<UserInputException>(() => Trials(text));
        Assert.Contains(expected, e.Message);
        Assert.StartsWith("trials.csv", e.Message);
    }

    [Fact]
    public void A_missing_file_is_a_user_error()
    {
        var e = Assert.Throws<UserInputException>(() => RunFiles.ReadTrials("/nonexistent/trials.csv"));
        Assert.Equal("/nonexistent/trials.csv: file not found", e.Message);
    }

    [Fact]
    public void Reads_epochs()
    {
        var rows = RunFiles.ParseEpochs(CsvTable.Parse("epochs.csv",
            "dataset,model,optimizer,repeat,epoch,train_loss,train_acc,test_loss,test_acc,lr,seconds,images_per_second\n" +
            "d,m,sgd,0,1,2.1,40.5,1.9,35.25,0.001,10.5,126.5\n"));
        var row = Assert.Single(rows);
        Assert.Equal((1, 40.5, 35.25, 2.1), (row.Epoch, row.TrainAcc, row.TestAcc, row.TrainLoss!.Value));
    }
}
