using static TorchSharp.torch;

namespace SamCluster.Training;

/// <summary>What the trial loop needs of a dataset, already on the training device: uint8 images [N,C,H,W], int64
/// labels [N], per-channel mean/std in 0..1 units from the train split.</summary>
public sealed record TrainingTensors(
    Tensor TrainImages,
    Tensor TrainLabels,
    Tensor TestImages,
    Tensor TestLabels,
    IReadOnlyList<float> Mean,
    IReadOnlyList<float> Std,
    int Classes)
{
    public int Channels => (int)TrainImages.shape[1];

    /// <summary>A view of the dataset's tensors (not a copy; the dataset still owns them).</summary>
    public static TrainingTensors From(Data.ImageDataset dataset) => new(dataset.TrainImages, dataset.TrainLabels,
        dataset.TestImages, dataset.TestLabels, dataset.Mean, dataset.Std, dataset.ClassNames.Count);
}

/// <summary>uint8 images → float, /255, normalised per channel, as one fused multiply-add on the device.</summary>
public sealed class BatchNormaliser : IDisposable
{
    private readonly Tensor _scale, _shift;

    public BatchNormaliser(IReadOnlyList<float> mean, IReadOnlyList<float> std, Device device)
    {
        if (mean.Count != std.Count) throw new ArgumentException("mean and std differ in length");
        var channels = mean.Count;
        // The scope holds the 1-D tensors until view() has returned: a temporary nothing holds can be finalized by
        // another thread's collection while libtorch still reads it (see FlatBuffer.Slice).
        using var scope = NewDisposeScope();
        // (x/255 - m)/s = x·(1/(255 s)) + (-m/s)
        _scale = tensor(std.Select(s => 1f / (255f * s)).ToArray(), device: device).view(1, channels, 1, 1).DetachFromDisposeScope();
        _shift = tensor(mean.Zip(std, (m, s) => -m / s).ToArray(), device: device).view(1, channels, 1, 1).DetachFromDisposeScope();
    }

    public Tensor Apply(Tensor images) => images.to(ScalarType.Float32).mul_(_scale).AddInPlace(_shift);

    public void Dispose()
    {
        _scale.Dispose();
        _shift.Dispose();
    }
}
