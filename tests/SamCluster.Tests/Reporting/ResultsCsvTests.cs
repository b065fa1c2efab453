using SamCluster.Reporting;
using SamCluster.Messages;
using Xunit;

namespace SamCluster.Tests.Reporting;

public class ResultsCsvTests
{
    const string FullHeader = "dataset,model,optimizer,repeat,seed,status,epochs,train_acc,test_acc,train_loss,test_loss,seconds,node,device,attempts,reason";

    static IReadOnlyList<TrialResultRow> Trials(string text) => ResultsCsv.ParseTrials(CsvTable.Parse("trials.csv", text));

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
        var e = Assert.Throws<UserInputException>(() => ResultsCsv.ReadTrials("/nonexistent/trials.csv"));
        Assert.Equal("/nonexistent/trials.csv: file not found", e.Message);
    }

    [Fact]
    public void Reads_epochs()
    {
        var rows = ResultsCsv.ParseEpochs(CsvTable.Parse("epochs.csv",
            "dataset,model,optimizer,repeat,epoch,train_loss,train_acc,test_loss,test_acc,lr,seconds,images_per_second\n" +
            "d,m,sgd,0,1,2.1,40.5,1.9,35.25,0.001,10.5,126.5\n"));
        var row = Assert.Single(rows);
        Assert.Equal((1, 40.5, 35.25, 2.1), (row.Epoch, row.TrainAcc, row.TestAcc, row.TrainLoss!.Value));
    }

    [Theory]
    [InlineData("a,b\n1,x\"y\n", "t.csv:2: stray quote in an unquoted cell")]
    [InlineData("a,b\n\"multi\nline\",x\"y\n", "t.csv:3: stray quote in an unquoted cell")]   // the line of the quote
    [InlineData("a,b\n1,\"xy\"z\n", "t.csv:2: text after a closing quote")]
    [InlineData("a,b\n1,2\n\"3,\n4\n", "t.csv:3: quote opened here is never closed")]
    public void Malformed_quoting_names_the_line(string text, string expected)
    {
        var e = Assert.Throws<UserInputException>(() => CsvTable.Parse("t.csv", text));
        Assert.Equal(expected, e.Message);
    }

    [Fact]
    public void Blank_lines_a_byte_order_mark_and_spaces_around_quotes_are_read()
    {
        var table = CsvTable.Parse("t.csv", "\uFEFF\n a , b \n\n  \"x, y\"  ,2\n   \n3,4");
        Assert.Equal(2, table.HeaderLine);
        Assert.Equal([("x, y", "2", 4), ("3", "4", 6)], table.Rows.Select(r => (r.Text("a"), r.Text("B"), r.Line)));
    }

    static readonly TrialResultRow[] Written =
    [
        new("d", "m", "sam", 1, false, null, null, 12.5, 3, "OOM, \"batch 128\"\nretried", 0)
            { Seed = 43, Node = "node-2", Device = "cuda:0", Attempts = 3 },
        new("d", "m", "sgd", 0, true, 99.9, 0.1 + 0.2, 612.5, 20, null, 0, "lr=0.01,rho=0.1")
            { Seed = 42, TrainLoss = 0.01, TestLoss = 0.03, Node = "node-1", Device = "cuda:0", Attempts = 1 },
        new("d", "m", "sgd", 1, false, null, null, 0.5, 1, "killed\nby the OOM killer", 0)
            { Seed = 44, Node = "node-3", Device = "cpu", Attempts = 2 },
    ];

    [Fact]
    public void Writes_trials_as_the_coordinator_always_has()
    {
        // Numbers in round-trip form, a cell quoted where it needs it, a line break turned into a space (still quoted).
        Assert.Equal("dataset,model,optimizer,repeat,seed,status,epochs,train_acc,test_acc,train_loss,test_loss,seconds,node,device,attempts,reason,cell\n" +
                     "d,m,sam,1,43,failed,3,,,,,12.5,node-2,cuda:0,3,\"OOM, \"\"batch 128\"\" retried\",\n" +
                     "d,m,sgd,0,42,completed,20,99.9,0.30000000000000004,0.01,0.03,612.5,node-1,cuda:0,1,,\"lr=0.01,rho=0.1\"\n" +
                     "d,m,sgd,1,44,failed,1,,,,,0.5,node-3,cpu,2,\"killed by the OOM killer\",\n",
            ResultsCsv.WriteTrials(Written));
    }

    [Fact]
    public void Reads_back_what_it_writes()
    {
        var rows = Trials(ResultsCsv.WriteTrials(Written));
        Assert.Equal(Written.Select(r => (r.TrialId, r.Completed, r.TrainAcc, r.TestAcc, r.Seconds, r.Epochs, r.Reason?.Replace('\n', ' ') ?? "")),   // an empty reason reads as ""
            rows.Select(r => (r.TrialId, r.Completed, r.TrainAcc, r.TestAcc, r.Seconds, r.Epochs, r.Reason ?? "")));
        Assert.Equal([2, 3, 4], rows.Select(r => r.Line));

        var epoch = new EpochResultRow("d", "m", "sgd", 0, 1, 40.5, 35.25, 2.1, 1.9, 0, "lr=0.01,rho=0.1", 0.001)
            { Seconds = 10.5, ImagesPerSecond = 126.5, Attempt = 2 };
        Assert.Equal("dataset,model,optimizer,repeat,epoch,train_loss,train_acc,test_loss,test_acc,lr,seconds,images_per_second,cell,attempt",
            ResultsCsv.EpochsHeader);
        var line = ResultsCsv.EpochLine(epoch);
        Assert.Equal("d,m,sgd,0,1,2.1,40.5,1.9,35.25,0.001,10.5,126.5,\"lr=0.01,rho=0.1\",2\n", line);
        var read = Assert.Single(ResultsCsv.ParseEpochs(CsvTable.Parse("epochs.csv", ResultsCsv.EpochsHeader + "\n" + line)));
        Assert.Equal(epoch with { Line = 2, Seconds = null, ImagesPerSecond = null, Attempt = null }, read);
    }
}
