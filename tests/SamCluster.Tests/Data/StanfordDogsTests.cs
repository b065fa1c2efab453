using SamCluster.Messages;
using SamCluster.Training.Data;
using Xunit;
using static TorchSharp.torch;
using SamCluster.Experiment;

namespace SamCluster.Tests.Data;

public sealed class StanfordDogsTests : IDisposable
{
    readonly DogsFixture _dogs = new();

    public void Dispose() => _dogs.Dispose();

    DataSpec Spec(params string[] breeds) =>
        new(Vocabulary.StanfordDogs.Name, _dogs.Images, breeds, ImageSize: 16, TestPerClass: 2, SplitSeed: 7, CacheDir: _dogs.CacheDir);

    static readonly string[] AllBreeds = ["n00000001-Akita_inu", "n00000002", "corgi"];

    /// <summary>(breed, image) of every item of a split, read back from its top-left pixel.</summary>
    static (int Breed, int Image)[] Sources(Tensor images)
    {
        var result = new (int, int)[images.shape[0]];
        for (var i = 0; i < result.Length; i++)
            result[i] = DogsFixture.Identify(images[i, 0, 0, 0].item<byte>(), images[i, 1, 0, 0].item<byte>(), images[i, 2, 0, 0].item<byte>());
        return result;
    }

    [Fact]
    public void Loads_resized_rgb_splits_with_labels_in_the_requested_order()
    {
        using var data = StanfordDogs.Load(Spec("corgi", "n00000001", "Border-Collie"), out var report);
        Assert.False(report.FromCache);
        Assert.Equal(18, report.Decoded);
        Assert.Equal(new long[] { 12, 3, 16, 16 }, data.TrainImages.shape);
        Assert.Equal(new long[] { 6, 3, 16, 16 }, data.TestImages.shape);
        Assert.Equal((3, 16), (data.Channels, data.ImageSize));
        Assert.Equal(["corgi", "Akita_inu", "Border_collie"], data.ClassNames);

        var trainLabels = data.TrainLabels.data<long>().ToArray();
        Assert.Equal(new long[] { 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2 }, trainLabels);
        var train = Sources(data.TrainImages);
        var test = Sources(data.TestImages);
        int[] folderOfLabel = [2, 0, 1];
        Assert.All(train.Zip(trainLabels), p => Assert.Equal(folderOfLabel[p.Item2], p.Item1.Breed));
        // Every image of every breed is in exactly one split.
        Assert.Equal(18, train.Concat(test).Distinct().Count());
        Assert.All(test.GroupBy(s => s.Breed), g => Assert.Equal(2, g.Count()));
        // Solid colour stays solid after the resize.
        Assert.Equal(data.TrainImages[0, 1, 0, 0].item<byte>(), data.TrainImages[0, 1, 15, 15].item<byte>());
    }

    [Fact]
    public void Split_is_deterministic_and_depends_on_the_seed()
    {
        using var first = StanfordDogs.Load(Spec(AllBreeds));
        using var again = StanfordDogs.Load(Spec(AllBreeds) with { CacheDir = Path.Combine(_dogs.Root, "other-cache") }, out var report);
        Assert.False(report.FromCache);
        Assert.Equal(first.TestImages.bytes.ToArray(), again.TestImages.bytes.ToArray());
        Assert.Equal(first.TrainImages.bytes.ToArray(), again.TrainImages.bytes.ToArray());

        using var reseeded = StanfordDogs.Load(Spec(AllBreeds) with { SplitSeed = 8 });
        Assert.NotEqual(Sources(first.TestImages), Sources(reseeded.TestImages));
    }

    [Fact]
    public void A_breeds_split_does_not_depend_on_the_other_breeds()
    {
        using var all = StanfordDogs.Load(Spec(AllBreeds));
        using var one = StanfordDogs.Load(Spec("corgi"));
        Assert.Equal(Sources(all.TestImages).Where(s => s.Breed == 2), Sources(one.TestImages));
    }

    [Fact]
    public void Second_load_reads_the_cache_without_decoding()
    {
        using var first = StanfordDogs.Load(Spec(AllBreeds), out var built);
        using var second = StanfordDogs.Load(Spec(AllBreeds), out var reused);
        Assert.False(built.FromCache);
        Assert.True(reused.FromCache);
        Assert.Equal(0, reused.Decoded);
        Assert.Equal(built.CacheManifest, reused.CacheManifest);
        Assert.True(File.Exists(reused.CacheManifest));
        Assert.Equal(first.TrainImages.bytes.ToArray(), second.TrainImages.bytes.ToArray());
        Assert.Equal(first.TestLabels.bytes.ToArray(), second.TestLabels.bytes.ToArray());
        Assert.Equal(first.Mean, second.Mean);
        Assert.Empty(Directory.GetFiles(_dogs.CacheDir, "*.tmp"));
    }

    [Fact]
    public void Cache_is_invalidated_by_a_changed_folder_or_setting()
    {
        StanfordDogs.Load(Spec(AllBreeds), out var built).Dispose();

        StanfordDogs.Load(Spec(AllBreeds) with { ImageSize = 12 }, out var resized).Dispose();
        Assert.False(resized.FromCache);

        _dogs.WriteJpeg(1, 6, DogsFixture.ColourOf(1, 5));
        StanfordDogs.Load(Spec(AllBreeds), out var grown).Dispose();
        Assert.False(grown.FromCache);
        Assert.NotEqual(built.CacheManifest, grown.CacheManifest);

        // Same file names, new content (different size): a new entry too.
        File.Delete(_dogs.PathOf(1, 6));
        File.WriteAllBytes(_dogs.PathOf(1, 0), File.ReadAllBytes(_dogs.PathOf(1, 0)).Concat(new byte[10]).ToArray());
        StanfordDogs.Load(Spec(AllBreeds), out var edited).Dispose();
        Assert.False(edited.FromCache);
        Assert.NotEqual(built.CacheManifest, edited.CacheManifest);
    }

    [Fact]
    public void A_damaged_cache_entry_is_rebuilt_not_trusted()
    {
        StanfordDogs.Load(Spec(AllBreeds), out var built).Dispose();
        var trainFile = Directory.GetFiles(_dogs.CacheDir, "*.train.u8").Single();
        File.WriteAllBytes(trainFile, new byte[100]);
        using var data = StanfordDogs.Load(Spec(AllBreeds), out var rebuilt);
        Assert.False(rebuilt.FromCache);
        Assert.Equal(12 * 3 * 16 * 16, new FileInfo(trainFile).Length);
    }

    [Fact]
    public void Default_cache_is_beside_the_images_folder_and_dataset_root_is_accepted()
    {
        using var data = StanfordDogs.Load(Spec(AllBreeds) with { Root = _dogs.Root, CacheDir = null }, out var report);
        Assert.Equal(Path.Combine(_dogs.Root, ".samcluster-cache"), Path.GetDirectoryName(report.CacheManifest));
    }

    [Fact]
    public void Limits_are_balanced_across_breeds()
    {
        using var data = StanfordDogs.Load(Spec(AllBreeds) with { TrainLimit = 7, TestLimit = 3 });
        Assert.Equal(new long[] { 0, 0, 0, 1, 1, 2, 2 }, data.TrainLabels.data<long>().ToArray());
        Assert.Equal(new long[] { 0, 1, 2 }, data.TestLabels.data<long>().ToArray());
    }

    [Fact]
    public void Corrupt_jpeg_is_refused_by_name()
    {
        File.WriteAllBytes(_dogs.PathOf(2, 3), "this is not a jpeg"u8.ToArray());
        var error = Assert.Throws<UserInputException>(() => StanfordDogs.Load(Spec(AllBreeds)).Dispose());
        Assert.Contains(_dogs.PathOf(2, 3), error.Message);
        Assert.Empty(Directory.Exists(_dogs.CacheDir) ? Directory.GetFiles(_dogs.CacheDir, "*.json") : []);
    }

    [Fact]
    public void Truncated_jpeg_is_refused_by_name()
    {
        var path = _dogs.PathOf(0, 1);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length * 2 / 3)]);
        var error = Assert.Throws<UserInputException>(() => StanfordDogs.Load(Spec(AllBreeds)).Dispose());
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void Unknown_breed_is_refused_with_suggestions()
    {
        var error = Assert.Throws<UserInputException>(() => StanfordDogs.Load(Spec("poodle")));
        Assert.Contains("breed 'poodle' not found", error.Message);
        Assert.Contains("n00000001-Akita_inu", error.Message);

        var similar = Assert.Throws<UserInputException>(() => StanfordDogs.Load(Spec("collie")));
        Assert.Contains("similar: n00000002-Border_collie", similar.Message);
    }

    [Fact]
    public void Default_breeds_are_the_studys_eight()
    {
        Assert.Equal(8, Vocabulary.StudyDogBreeds.Count);
        var error = Assert.Throws<UserInputException>(() => StanfordDogs.Load(Spec()));
        Assert.Contains("'n02085620-Chihuahua' not found", error.Message);
    }

    [Fact]
    public void Breed_with_too_few_images_is_refused() =>
        Assert.Contains("6 JPEG images, fewer than the 6 test images per breed plus 1",
            Assert.Throws<UserInputException>(() => StanfordDogs.Load(Spec(AllBreeds) with { TestPerClass = 6 })).Message);

    [Fact]
    public void Missing_or_unset_folder_is_refused()
    {
        Assert.Contains("stanford-dogs folder not found",
            Assert.Throws<UserInputException>(() => DatasetLoader.Load(Spec() with { Root = Path.Combine(_dogs.Root, "nope") })).Message);
        Assert.Contains("needs the path of its Images/ folder",
            Assert.Throws<UserInputException>(() => DatasetLoader.Load(Spec() with { Root = "" })).Message);
    }

    [Fact]
    public void Duplicate_breed_is_refused() =>
        Assert.Contains("listed twice",
            Assert.Throws<UserInputException>(() => StanfordDogs.Load(Spec("corgi", "n00000003"))).Message);
}
