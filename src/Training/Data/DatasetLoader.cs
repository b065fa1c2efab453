using SamCluster.Messages;
using SamCluster.Experiment;

namespace SamCluster.Training.Data;

/// <summary>Entry point: loads the dataset a <see cref="DataSpec"/> names, as CPU tensors.</summary>
public static class DatasetLoader
{
    public static ImageDataset Load(DataSpec spec)
    {
        var dataset = Vocabulary.FindDataset(spec.Dataset)
            ?? throw new UserInputException($"unknown dataset '{spec.Dataset}' (known: {string.Join(", ", Vocabulary.DatasetNames)})");
        return dataset == Vocabulary.FashionMnist ? FashionMnist.Load(spec) : StanfordDogs.Load(spec);
    }

    /// <summary>Reads every distinct data selection once, as the trials will (files, checksums, classes, limits; Stanford
    /// Dogs is decoded into its cache, which the trials then reuse), so bad data is refused before anything trains.
    /// Returns how many selections were read.</summary>
    public static int CheckAll(IEnumerable<DataSpec> specs)
    {
        var distinct = specs.Distinct().ToList();
        foreach (var spec in distinct)
            using (Load(spec)) { }
        return distinct.Count;
    }
}
