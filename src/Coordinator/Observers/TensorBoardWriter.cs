using SamCluster.Coordinator.Hosting;
using SamCluster.Coordinator.Lifecycle;
using SamCluster.RunStore;
using SamCluster.Messages;

namespace SamCluster.Coordinator.Observers;

/// <summary>
/// TensorBoard scalars per trial, DIR/tensorboard/&lt;trial id&gt;/, written as each epoch is journaled (by the writer
/// the process opens: TorchSharp's SummaryWriter): train/test loss and accuracy, learning rate and images per second, stepped by epoch, so
/// `tensorboard --logdir DIR/tensorboard` shows the run while it runs. A later attempt's epochs are written over the
/// same steps (TensorBoard shows the newest point of a step).
/// </summary>
public sealed class TensorBoardWriter(RunFolder folder, Func<string, IScalarWriter> open) : IRunObserver
{
    readonly Dictionary<string, IScalarWriter> _writers = new();

    public string Root => Path.Combine(folder.Root, "tensorboard");

    public void OnTrialEvent(BoardEntry trial, ITrialEvent e, IReadOnlyList<BoardEntry> board)
    {
        if (e is not EpochRecorded { Metrics: var m }) return;
        var spec = trial.Spec;
        if (!_writers.TryGetValue(spec.Key.Id, out var writer))
            _writers[spec.Key.Id] = writer = open(Path.Combine(Root, spec.Key.Id));
        // TensorBoard reads an event's wall time as seconds since 1970; SummaryWriter's default is DateTime ticks.
        var wallTime = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        try
        {
            foreach (var (tag, value) in Scalars(m))
                if (double.IsFinite(value)) writer.Add(tag, (float)value, m.Epoch, wallTime);
        }
        catch (IOException error) when (DiskFull.Wrap(error, writer.LogDir) is { } diskFull)
        {
            throw diskFull;
        }
    }

    /// <summary>The tags, grouped as TensorBoard shows them ("loss/train", "accuracy/test", ...).</summary>
    public static IEnumerable<(string Tag, double Value)> Scalars(EpochMetrics m) =>
    [
        ("loss/train", m.TrainLoss), ("loss/test", m.TestLoss),
        ("accuracy/train", m.TrainAcc), ("accuracy/test", m.TestAcc),
        ("learning_rate", m.LearningRate), ("images_per_second", m.ImagesPerSecond),
    ];
}
