using SamCluster.Cli;
using SamCluster.Cli.Commands;
using SamCluster.Messages;
using Xunit;

namespace SamCluster.Tests.Training;

[Collection(TorchGlobalState.Name)]
public class TrainingCommandTests
{
    [Theory]
    [InlineData("train-one", "--device", "gpu0")]
    [InlineData("train-one", "--optimizer", "adam")]
    [InlineData("train-one", "--threads", "0")]
    [InlineData("train-one", "--data", "/nonexistent/fashion-mnist")]
    [InlineData("bench", "--inputs", "3xbig")]
    [InlineData("bench", "--peer", "/nonexistent/peer.py")]
    public void BadFlagsExitWithCode2(string command, string flag, string value)
    {
        string[] args = command == "bench" ? [command, flag, value] : [command, flag, value, "--epochs", "1"];
        Assert.Equal(Program.BadInput, Program.Main(args));
    }

    [Fact]
    public void EpochLineStartsWithTheContractKeysInOrder()
    {
        var line = TrainOneCommand.EpochJson(new EpochMetrics(3, 0.5, 80.25, 0.6, 79.5, 0.001, 12.5, 480));
        Assert.StartsWith("{\"epoch\":3,\"train_loss\":0.5,\"train_acc\":80.25,\"test_loss\":0.6,\"test_acc\":79.5,\"lr\":0.001,\"seconds\":12.5,", line);
        Assert.DoesNotContain("\n", line);
    }
}
