using SamCluster.Messages;

namespace SamCluster.Training.Data;

/// <summary>Entry point: loads the dataset a <see cref="DataSpec"/> names, as CPU tensors.</summary>
public static class DatasetLoader
{
    public static readonly IReadOnlyList<string> KnownDatasets = [FashionMnist.DatasetName, StanfordDogs.DatasetName];

    public static ImageDataset Load(DataSpec spec) => spec.Dataset.Trim().ToLowerInvariant() switch
    {
        FashionMnist.DatasetName => FashionMnist.Load(spec),
        StanfordDogs.DatasetName => StanfordDogs.Load(spec),
        _ => throw new UserInputException($"unknown dataset '{spec.Dataset}' (known: {string.Join(", ", KnownDatasets)})"),
    };
}
