using SamCluster.Messages;
using SamCluster.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using SamCluster.Experiment;

namespace SamCluster.Tests.Training;

[Collection(TorchGlobalState.Name)]
public class TrialRunnerTests
{
    private static TrainingTensors Synthetic(int train = 48, int test = 16, float std = 0.3f) => SyntheticTensors.Make(7, train, test, std);

    private static TrialSpec Spec(string optimizer = "sam", int epochs = 2) => new(
        new TrialKey("synthetic", "resnet18", optimizer, 0), Seed: 42,
        new DataSpec("synthetic", "", []),
        RecipeTable.Defaults(epochs) with { BatchSize = 16, LearningRate = 0.01 });

    [Fact]
    public void RunsEpochsAndARerunWithTheSameSeedIsIdentical()
    {
        var data = Synthetic();
        var first = new List<EpochMetrics>();
        var summary = TrialRunner.Run(Spec(), data, CPU, first.Add);
        var second = new List<EpochMetrics>();
        TrialRunner.Run(Spec(), data, CPU, second.Add);

        Assert.Equal([1, 2], first.Select(m => m.Epoch));
        Assert.All(first, m =>
        {
            Assert.InRange(m.TrainAcc, 0, 100);
            Assert.InRange(m.TestAcc, 0, 100);
            Assert.True(m.TrainLoss > 0 && m.TestLoss > 0 && m.Seconds > 0 && m.ImagesPerSecond > 0);
            Assert.Equal(0.01, m.LearningRate, 12);
        });
        Assert.Equal(2, summary.Epochs);
        Assert.Equal(first[^1].TestAcc, summary.TestAcc);
        Assert.Equal(first.Select(m => (m.TrainLoss, m.TestLoss, m.TrainAcc, m.TestAcc)),
                     second.Select(m => (m.TrainLoss, m.TestLoss, m.TrainAcc, m.TestAcc)));
    }

    [Fact]
    public void NonFiniteLossFailsTheTrialNamingEpochAndStep()
    {
        var data = Synthetic(train: 32, test: 8, std: 0f);   // zero std: inputs become ±inf/NaN, so does the loss
        var error = Assert.Throws<TrialFailedException>(() => TrialRunner.Run(Spec("sgd", epochs: 1), data, CPU, _ => { }));
        Assert.Equal("loss became NaN at epoch 1, step 1", error.Message);
    }

    [Fact]
    public void CancellationStopsBetweenSteps()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => TrialRunner.Run(Spec("sgd", 1), Synthetic(32, 8), CPU, _ => { }, cancelled.Token));
    }

    [Theory]
    [InlineData(10, 4, new long[] { 4, 4, 2 })]
    [InlineData(9, 4, new long[] { 4, 4 })]      // a last batch of one is dropped (BatchNorm)
    [InlineData(8, 4, new long[] { 4, 4 })]
    public void BatchRangesCoverTheSplit(long count, int batchSize, long[] lengths)
    {
        Assert.Equal(lengths, TrialRunner.BatchRanges(count, batchSize).Select(r => r.Length));
    }
}
