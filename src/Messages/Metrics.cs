namespace SamCluster.Messages;

/// <summary>One epoch of one trial. Accuracies are in percent; Seconds is the epoch's wall time (train + test).</summary>
public sealed record EpochMetrics(
    int Epoch,
    double TrainLoss,
    double TrainAcc,
    double TestLoss,
    double TestAcc,
    double LearningRate,
    double Seconds,
    double ImagesPerSecond);

/// <summary>What a finished trial reports: its last epoch's figures and the total training time.</summary>
public sealed record TrialSummary(
    int Epochs,
    double TrainAcc,
    double TestAcc,
    double TrainLoss,
    double TestLoss,
    double Seconds)
{
    public static TrialSummary From(IReadOnlyList<EpochMetrics> epochs)
    {
        if (epochs.Count == 0) throw new ArgumentException("a trial summary needs at least one epoch", nameof(epochs));
        var last = epochs[^1];
        return new TrialSummary(epochs.Count, last.TrainAcc, last.TestAcc, last.TrainLoss, last.TestLoss, epochs.Sum(e => e.Seconds));
    }
}
