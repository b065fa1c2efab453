using System.IO.Compression;
using SamCluster.Messages;
using SamCluster.Tests.Data;
using SamCluster.Training.Data;
using Xunit;
using Xunit.Abstractions;
using SamCluster.Experiment;

namespace SamCluster.Tests.BadInput;

/// <summary>`train-one` on missing, corrupt or truncated data and with bad flag values: refused before any training.</summary>
[Collection(InProcessCli.Name)]
public sealed class DataFileTests(ITestOutputHelper log) : BadInputTest(log)
{
    static readonly byte[] TrainLabels = Enumerable.Range(0, 20).Select(i => (byte)(i % 5)).ToArray();
    static readonly byte[] TestLabels = Enumerable.Range(0, 10).Select(i => (byte)(i % 5)).ToArray();

    /// <summary>train-one on <paramref name="dataFolder"/> with small settings; a flag given in <paramref name="flagsAndValues"/>
    /// replaces its default.</summary>
    CliRun TrainOne(string dataFolder, params string[] flagsAndValues)
    {
        var flags = new Dictionary<string, string> { ["--data"] = dataFolder, ["--epochs"] = "1", ["--batch-size"] = "8", ["--threads"] = "1" };
        for (var i = 0; i < flagsAndValues.Length; i += 2) flags[flagsAndValues[i]] = flagsAndValues[i + 1];
        return Run(["train-one", .. flags.SelectMany(f => new[] { f.Key, f.Value })]);
    }

    [Fact]
    public void A_bad_idx_magic_is_refused_naming_the_file()
    {
        using var data = new IdxFixture(TrainLabels, TestLabels);
        data.WriteImages(FashionMnist.TrainImagesFile, 20, offset: 0, magic: 0x00000804);
        Refused(TrainOne(data.Root), FashionMnist.TrainImagesFile, "bad IDX magic 0x00000804");
    }

    [Fact]
    public void An_idx_file_shorter_than_its_header_says_is_refused_naming_the_file()
    {
        using var data = new IdxFixture(TrainLabels, TestLabels);
        data.WriteGzip(FashionMnist.TestImagesFile, IdxFixture.Header(IdxFile.ImagesMagic, 10, 28, 28), new byte[5 * 28 * 28]);
        Refused(TrainOne(data.Root), FashionMnist.TestImagesFile, "truncated", "10 images of 28x28");
    }

    [Fact]
    public void A_cut_off_gzip_file_is_refused_naming_the_file()
    {
        using var data = new IdxFixture(TrainLabels, TestLabels);
        var path = data.PathOf(FashionMnist.TrainImagesFile);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        Refused(TrainOne(data.Root), FashionMnist.TrainImagesFile);
    }

    [Fact]
    public void A_labels_file_cut_inside_its_header_is_refused_naming_the_file()
    {
        using var data = new IdxFixture(TrainLabels, TestLabels);
        data.WriteGzip(FashionMnist.TrainLabelsFile, IdxFixture.Header(IdxFile.LabelsMagic, 20)[..6], []);
        Refused(TrainOne(data.Root), FashionMnist.TrainLabelsFile, "truncated", "IDX header");
    }

    [Theory]
    [InlineData(new byte[0])]
    [InlineData(new byte[] { 0, 0, 8, 3, 0, 0, 0, 20 })]
    public void An_idx_file_that_is_not_gzip_is_refused_naming_the_file(byte[] content)
    {
        using var data = new IdxFixture(TrainLabels, TestLabels);
        File.WriteAllBytes(data.PathOf(FashionMnist.TrainImagesFile), content);
        Refused(TrainOne(data.Root), FashionMnist.TrainImagesFile, "not a gzip file");
    }

    [Fact]
    public void Bad_data_is_refused_by_validate_check_data_and_by_local_before_anything_trains()
    {
        using var data = new IdxFixture(TrainLabels, TestLabels);
        data.WriteImages(FashionMnist.TestImagesFile, 10, offset: 0, magic: 0x00000804);
        var grid = WriteFile("grid.yaml", ValidGrid(data.Root));
        Refused(Run("validate", grid, "--check-data"), FashionMnist.TestImagesFile, "bad IDX magic 0x00000804");
        Refused(Run("local", grid, "--out", "run", "--nodes", "1"), FashionMnist.TestImagesFile, "bad IDX magic 0x00000804");
        Assert.False(Directory.Exists(Path.Combine(Work, "run")), "a run folder was made for a grid whose data is bad");
    }

    [Fact]
    public void Good_data_passes_validate_check_data()
    {
        using var data = new IdxFixture(TrainLabels, TestLabels);
        var grid = WriteFile("grid.yaml", ValidGrid(data.Root));
        var run = Run("validate", grid, "--check-data");
        Assert.True(run.ExitCode == 0, run.Stderr);
    }

    [Fact]
    public void A_missing_idx_file_is_refused_naming_it()
    {
        using var data = new IdxFixture(TrainLabels, TestLabels);
        File.Delete(data.PathOf(FashionMnist.TestLabelsFile));
        Refused(TrainOne(data.Root), FashionMnist.TestLabelsFile, "not found");
    }

    [Fact]
    public void A_missing_data_folder_is_refused_naming_it()
    {
        var missing = Path.Combine(Work, "no-such-folder");
        Refused(TrainOne(missing), "fashion-mnist folder not found", missing);
    }

    [Fact]
    public void Labels_and_images_that_disagree_are_refused_naming_both_files()
    {
        using var data = new IdxFixture(TrainLabels, TestLabels);
        data.WriteLabels(FashionMnist.TrainLabelsFile, TrainLabels[..15]);
        Refused(TrainOne(data.Root), FashionMnist.TrainLabelsFile, FashionMnist.TrainImagesFile, "15 labels");
    }

    [Theory]
    [InlineData("--dataset", "cifar-10", "--dataset 'cifar-10' is unknown")]
    [InlineData("--model", "resnet50", "--model 'resnet50' is unknown")]
    [InlineData("--optimizer", "adam", "--optimizer 'adam' is unknown")]
    [InlineData("--epochs", "0", "epochs must be at least 1")]
    [InlineData("--epochs", "-3", "epochs must be at least 1")]
    [InlineData("--batch-size", "0", "--batch-size must be at least 2")]
    [InlineData("--batch-size", "-8", "--batch-size must be at least 2")]
    [InlineData("--lr", "0", "--lr must be above 0, not 0")]
    [InlineData("--lr", "-0.1", "--lr must be above 0")]
    [InlineData("--lr", "1e308", "--lr must be at most 10, not 1E+308")]
    [InlineData("--lr", "Infinity", "--lr must be a finite number")]
    [InlineData("--lr", "NaN", "--lr must be a finite number")]
    [InlineData("--momentum", "5", "--momentum must be below 1, not 5")]
    [InlineData("--plateau-factor", "1", "--plateau-factor must be below 1")]
    [InlineData("--epochs", "100000000", "--epochs must be at most 10000")]
    [InlineData("--classes", "3", "--classes needs at least 2 classes")]
    [InlineData("--classes", "3,Dress", "--classes lists class 'Dress' twice")]
    [InlineData("--image-size", "32", "--image-size must be at most 28")]
    [InlineData("--threads", "100000", "--threads must be at most")]
    [InlineData("--train-limit", "3", "--train-limit must be 0 (all) or at least the number of classes (5)")]
    [InlineData("--rho", "-0.05", "--rho must be at least 0")]
    [InlineData("--stem", "huge", "--stem must be one of imagenet, small, not 'huge'")]
    [InlineData("--threads", "0", "--threads must be at least 1")]
    [InlineData("--train-limit", "-1", "--train-limit must be at least 0")]
    [InlineData("--classes", "12", "class 12 is out of range")]
    [InlineData("--classes", "Sock", "unknown Fashion-MNIST class 'Sock'")]
    [InlineData("--device", "gpu", "device 'gpu' is not valid")]
    [InlineData("--device", "cuda:7", "cuda:7")]
    [InlineData("--epochs", "many", "'many' for option '--epochs' (expected a whole number)")]
    [InlineData("--lr", "fast", "'fast' for option '--lr' (expected a number)")]
    public void Train_one_refuses_a_bad_flag_value(string flag, string value, string problem)
    {
        using var data = new IdxFixture(TrainLabels, TestLabels);
        Refused(TrainOne(data.Root, "--optimizer", "sam", flag, value), problem);
    }

    [Fact]
    public void A_breed_that_is_not_there_is_refused_with_the_breeds_that_are()
    {
        using var dogs = new DogsFixture();
        Refused(Run("train-one", "--dataset", "stanford-dogs", "--data", dogs.Images, "--classes", "poodle,corgi", "--epochs", "1"),
            "breed 'poodle' not found", dogs.Images, DogsFixture.Folders[0]);
    }

    [Fact]
    public void A_dogs_folder_with_no_breed_folders_is_refused()
    {
        Directory.CreateDirectory(Path.Combine(Work, "Images"));
        Refused(Run("train-one", "--dataset", "stanford-dogs", "--data", Path.Combine(Work, "Images"), "--epochs", "1"), "no breed folders");
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("truncated")]
    public void An_unreadable_jpeg_is_refused_in_one_line_naming_the_file(string defect)
    {
        using var dogs = new DogsFixture();
        var path = dogs.PathOf(1, 4);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, defect == "garbage" ? "this is no JPEG"u8.ToArray() : bytes[..(bytes.Length / 3)]);
        var spec = new DataSpec(Vocabulary.StanfordDogs.Name, dogs.Images, DogsFixture.Folders, ImageSize: 16, TestPerClass: 2, CacheDir: dogs.CacheDir);

        var error = Assert.Throws<UserInputException>(() => DatasetLoader.Load(spec).Dispose());
        Log.WriteLine($"{defect} JPEG -> {error.Message}");
        Assert.Contains(path, error.Message);
        Assert.DoesNotContain('\n', error.Message);
        Assert.False(Directory.Exists(dogs.CacheDir) && Directory.EnumerateFiles(dogs.CacheDir, "*", SearchOption.AllDirectories).Any(),
            "a failed load left a cache entry");
    }
}
