using SamCluster.Messages;
using SamCluster.Experiment;

namespace SamCluster.Training.Data;

/// <summary>A breed folder of Stanford Dogs' Images/ ("n02085620-Chihuahua": WordNet synset, dash, breed name).</summary>
public sealed record DogBreed(string Folder)
{
    public string Synset => Folder.Split('-', 2)[0];
    public string Name => Folder.Contains('-') ? Folder.Split('-', 2)[1] : Folder;
}

/// <summary>Finds the breed folders the user asked for, by folder name, synset or breed name.</summary>
public static class DogBreeds
{
    /// <summary>The study's 8 breeds (the first 8 synsets of the dataset), used when none are given.</summary>

    /// <summary>The breed folders under <paramref name="imagesRoot"/> for the requested names, in the requested order
    /// (<see cref="Vocabulary.StudyDogBreeds"/> when none). Matching ignores case, and for breed names also '_', '-' and spaces.</summary>
    public static IReadOnlyList<DogBreed> Resolve(string imagesRoot, IReadOnlyList<string> requested)
    {
        var available = Directory.GetDirectories(imagesRoot).Select(Path.GetFileName).OfType<string>()
            .Order(StringComparer.Ordinal).Select(folder => new DogBreed(folder)).ToArray();
        if (available.Length == 0)
            throw new UserInputException($"{imagesRoot}: no breed folders (expected Stanford Dogs' Images/ folder, e.g. Images/n02085620-Chihuahua/*.jpg)");
        var breeds = new List<DogBreed>();
        foreach (var given in requested.Count == 0 ? Vocabulary.StudyDogBreeds : requested)
        {
            var breed = Find(available, given.Trim(), imagesRoot);
            if (breeds.Contains(breed))
                throw new UserInputException($"stanford-dogs breed '{given}' is listed twice (it is {breed.Folder})");
            breeds.Add(breed);
        }
        return breeds;
    }

    static DogBreed Find(DogBreed[] available, string given, string imagesRoot)
    {
        var byFolder = available.FirstOrDefault(b => string.Equals(b.Folder, given, StringComparison.OrdinalIgnoreCase));
        if (byFolder is not null)
            return byFolder;
        var key = Vocabulary.Slug(given);
        var matches = available.Where(b => string.Equals(b.Synset, given, StringComparison.OrdinalIgnoreCase)
                                           || (key.Length > 0 && Vocabulary.Slug(b.Name) == key)).ToArray();
        if (matches.Length == 1)
            return matches[0];
        if (matches.Length > 1)
            throw new UserInputException(
                $"stanford-dogs breed '{given}' is ambiguous in {imagesRoot}: {string.Join(", ", matches.Select(b => b.Folder))}");
        var similar = available.Where(b => key.Length > 0 && Vocabulary.Slug(b.Folder).Contains(key)).ToArray();
        var hint = similar.Length > 0 ? similar : available;
        throw new UserInputException(
            $"stanford-dogs breed '{given}' not found in {imagesRoot} ({available.Length} breed folders; " +
            $"{(similar.Length > 0 ? "similar" : "e.g.")}: {string.Join(", ", hint.Take(5).Select(b => b.Folder))}{(hint.Length > 5 ? ", ..." : "")})");
    }

}
