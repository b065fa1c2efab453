using SamCluster.Messages;

namespace SamCluster.Reporting;

/// <summary>One trial's row of the results table (trials.csv): its key, whether it completed, its final figures.
/// Read from a file, only the key and figure columns are required, the others may be absent (null); <see cref="Line"/>
/// is the row's line there (0 for a row made in memory).</summary>
public sealed record TrialResultRow(
    string Dataset,
    string Model,
    string Optimizer,
    int Repeat,
    bool Completed,
    double? TrainAcc,
    double? TestAcc,
    double? Seconds,
    int? Epochs,
    string? Reason,
    int Line,
    string? Cell = null)
{
    public string TrialId => new TrialKey(Dataset, Model, Optimizer, Repeat, Cell).Id;

    // Written to trials.csv for people and tools; the report does not use them, so reading leaves them null.
    public long? Seed { get; init; }
    public double? TrainLoss { get; init; }
    public double? TestLoss { get; init; }
    public int? Attempts { get; init; }

    // Where the trial ran: read back where trials.csv has them, so the report can say when two arms' times were measured
    // on different machines; null when it does not.
    public string? Node { get; init; }
    public string? Device { get; init; }

    // What the trial's time was measured under (issue 27): the device's model, the node's torch threads, the trials its
    // node ran at once, and the mean training throughput of its epochs. The report compares times only between trials
    // on one device kind and says when their conditions differ; null where trials.csv does not have them.
    public string? DeviceModel { get; init; }
    public int? Threads { get; init; }
    public int? Concurrent { get; init; }
    public double? ImagesPerSecond { get; init; }

    /// <summary>What kind of device the time was measured on: "cpu" or "cuda", with the model where known
    /// ("cuda (NVIDIA H100 80GB HBM3)"); null when the row does not say where it ran.</summary>
    public string? DeviceKind => string.IsNullOrEmpty(Device) ? null
        : (Device.Split(':')[0] is var type && DeviceModel is { Length: > 0 } model ? $"{type} ({model})" : type);
}

/// <summary>One epoch's row of the epochs table (epochs.csv; accuracies in percent). <see cref="Line"/> as in
/// <see cref="TrialResultRow"/>.</summary>
public sealed record EpochResultRow(
    string Dataset,
    string Model,
    string Optimizer,
    int Repeat,
    int Epoch,
    double TrainAcc,
    double TestAcc,
    double? TrainLoss,
    double? TestLoss,
    int Line,
    string? Cell = null,
    double? LearningRate = null)
{
    // Written to epochs.csv; the report does not use them, so reading leaves them null.
    public double? Seconds { get; init; }
    public double? ImagesPerSecond { get; init; }
    public int? Attempt { get; init; }
}
