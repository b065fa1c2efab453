using SamCluster.Messages;

namespace SamCluster.Training.Data;

/// <summary>One image file of a split and its label (the breed's position in the requested list).</summary>
public sealed record LabelledFile(string Path, int Label);

/// <summary>The train/test split of the chosen breeds: per breed, the file names are sorted, shuffled with a seed derived
/// from <see cref="DataSpec.SplitSeed"/> and the breed's folder name (so a breed's split does not depend on which other
/// breeds are chosen), the first TestPerClass go to test and the rest to train. Each split is then in breed order and,
/// within a breed, in file-name order; limits keep the first files of each breed, balanced across breeds.</summary>
public sealed record DogsSplit(IReadOnlyList<LabelledFile> Train, IReadOnlyList<LabelledFile> Test)
{
    static readonly string[] ImageExtensions = [".jpg", ".jpeg"];

    public static DogsSplit Create(string imagesRoot, IReadOnlyList<DogBreed> breeds, DataSpec spec)
    {
        if (spec.TestPerClass < 1)
            throw new UserInputException($"stanford-dogs test images per breed must be at least 1, got {spec.TestPerClass}");
        var train = new List<LabelledFile>();
        var test = new List<LabelledFile>();
        for (var label = 0; label < breeds.Count; label++)
        {
            var folder = Path.Combine(imagesRoot, breeds[label].Folder);
            var files = Directory.EnumerateFiles(folder)
                .Where(f => ImageExtensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase))
                .Order(StringComparer.Ordinal).ToArray();
            if (files.Length < spec.TestPerClass + 1)
                throw new UserInputException(
                    $"{folder}: {files.Length} JPEG images, fewer than the {spec.TestPerClass} test images per breed plus 1 for training");
            new Random(BreedSeed(spec.SplitSeed, breeds[label].Folder)).Shuffle(files);
            test.AddRange(files.Take(spec.TestPerClass).Order(StringComparer.Ordinal).Select(f => new LabelledFile(f, label)));
            train.AddRange(files.Skip(spec.TestPerClass).Order(StringComparer.Ordinal).Select(f => new LabelledFile(f, label)));
        }
        return new DogsSplit(Limit(train, breeds.Count, spec.TrainLimit, "train"), Limit(test, breeds.Count, spec.TestLimit, "test"));
    }

    static IReadOnlyList<LabelledFile> Limit(List<LabelledFile> files, int breeds, int limit, string split)
    {
        if (limit == 0)
            return files;
        var labels = files.Select(f => (byte)f.Label).ToArray();
        var selection = ClassSubset.Select(labels, Enumerable.Range(0, breeds).ToArray(), limit, split);
        return selection.Indices.Select(i => files[i]).ToArray();
    }

    /// <summary>FNV-1a of the folder name mixed with the split seed: stable across runs, machines and .NET versions
    /// (string.GetHashCode is randomised per process).</summary>
    static int BreedSeed(int splitSeed, string folder)
    {
        var hash = 2166136261u ^ (uint)splitSeed;
        foreach (var ch in folder)
            hash = (hash ^ ch) * 16777619u;
        return (int)(hash & 0x7FFF_FFFF);
    }
}
