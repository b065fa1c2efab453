using TorchSharp;
using static TorchSharp.torch;

namespace SamCluster.Training.Data;

/// <summary>A labelled image dataset split into train and test: images as uint8 [N, C, H, W] (H = W = <see cref="ImageSize"/>),
/// labels as int64 [N] in 0..k-1 (the order of <see cref="ClassNames"/>). Owns its four tensors.</summary>
public sealed class ImageDataset : IDisposable
{
    public Tensor TrainImages { get; }
    public Tensor TrainLabels { get; }
    public Tensor TestImages { get; }
    public Tensor TestLabels { get; }
    public IReadOnlyList<string> ClassNames { get; }
    public int Channels { get; }
    public int ImageSize { get; }

    /// <summary>Per-channel mean of the train split's pixels, in 0..1 units.</summary>
    public float[] Mean { get; }

    /// <summary>Per-channel (population) standard deviation of the train split's pixels, in 0..1 units.</summary>
    public float[] Std { get; }

    /// <summary>Takes ownership of the tensors. Mean and Std are computed from the train images unless given.</summary>
    public ImageDataset(Tensor trainImages, Tensor trainLabels, Tensor testImages, Tensor testLabels,
        IReadOnlyList<string> classNames, float[]? mean = null, float[]? std = null)
    {
        CheckSplit(trainImages, trainLabels, "train");
        CheckSplit(testImages, testLabels, "test");
        if (!trainImages.shape.Skip(1).SequenceEqual(testImages.shape.Skip(1)))
            throw new ArgumentException($"train images {Shape(trainImages)} and test images {Shape(testImages)} differ in C, H or W");
        if (trainImages.shape[2] != trainImages.shape[3])
            throw new ArgumentException($"images must be square, got {Shape(trainImages)}");

        TrainImages = trainImages;
        TrainLabels = trainLabels;
        TestImages = testImages;
        TestLabels = testLabels;
        ClassNames = classNames;
        Channels = (int)trainImages.shape[1];
        ImageSize = (int)trainImages.shape[2];
        if (mean is null || std is null)
            (mean, std) = ChannelStatistics.Compute(trainImages);
        Mean = mean;
        Std = std;
    }

    public long TrainCount => TrainImages.shape[0];
    public long TestCount => TestImages.shape[0];

    /// <summary>A new dataset whose four tensors live on <paramref name="device"/> (one copy each); this one is unchanged
    /// and still owns its own tensors. Mean and Std are carried over, not recomputed.</summary>
    public ImageDataset To(Device device) =>
        new(TrainImages.to(device), TrainLabels.to(device), TestImages.to(device), TestLabels.to(device),
            ClassNames, (float[])Mean.Clone(), (float[])Std.Clone());

    public void Dispose()
    {
        TrainImages.Dispose();
        TrainLabels.Dispose();
        TestImages.Dispose();
        TestLabels.Dispose();
    }

    static void CheckSplit(Tensor images, Tensor labels, string split)
    {
        if (images.dtype != ScalarType.Byte || images.dim() != 4)
            throw new ArgumentException($"{split} images must be uint8 [N,C,H,W], got {images.dtype} {Shape(images)}");
        if (labels.dtype != ScalarType.Int64 || labels.dim() != 1 || labels.shape[0] != images.shape[0])
            throw new ArgumentException($"{split} labels must be int64 [{images.shape[0]}], got {labels.dtype} {Shape(labels)}");
    }

    static string Shape(Tensor t) => "[" + string.Join(",", t.shape) + "]";
}
