using SamCluster.Messages;
using SamCluster.Training.Data;
using Xunit;
using static TorchSharp.torch;
using SamCluster.Experiment;

namespace SamCluster.Tests.Data;

public sealed class FashionMnistTests : IDisposable
{
    // 20 train items cycling through classes 0..9 twice; 10 test items 0..9.
    static readonly byte[] TrainLabels = Enumerable.Range(0, 20).Select(i => (byte)(i % 10)).ToArray();
    static readonly byte[] TestLabels = Enumerable.Range(0, 10).Select(i => (byte)i).ToArray();
    readonly IdxFixture _files = new(TrainLabels, TestLabels);

    public void Dispose() => _files.Dispose();

    DataSpec Spec(params string[] classes) => new(Vocabulary.FashionMnist.Name, _files.Root, classes);

    [Fact]
    public void Default_classes_are_0_to_4_with_shapes_and_remapped_labels()
    {
        using var data = DatasetLoader.Load(Spec());
        Assert.Equal(new long[] { 10, 1, 28, 28 }, data.TrainImages.shape);
        Assert.Equal(new long[] { 5, 1, 28, 28 }, data.TestImages.shape);
        Assert.Equal(ScalarType.Byte, data.TrainImages.dtype);
        Assert.Equal(ScalarType.Int64, data.TrainLabels.dtype);
        Assert.Equal(["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat"], data.ClassNames);
        Assert.Equal((1, 28), (data.Channels, data.ImageSize));
        Assert.Equal(new long[] { 0, 1, 2, 3, 4, 0, 1, 2, 3, 4 }, data.TrainLabels.data<long>().ToArray());
        // File order kept: train items 0..4 then 10..14.
        int[] sources = [0, 1, 2, 3, 4, 10, 11, 12, 13, 14];
        for (var i = 0; i < sources.Length; i++)
            Assert.Equal(IdxFixture.PixelOf(sources[i], 0), data.TrainImages[i, 0, 27, 27].item<byte>());
        Assert.Equal(IdxFixture.PixelOf(3, 100), data.TestImages[3, 0, 0, 0].item<byte>());
    }

    [Fact]
    public void Subset_by_name_and_index_is_remapped_in_the_given_order()
    {
        using var data = DatasetLoader.Load(Spec("ankle-boot", "7", "t-shirt"));
        Assert.Equal(["Ankle boot", "Sneaker", "T-shirt/top"], data.ClassNames);
        // Train file order: items 0 (class 0 → 2), 7 (→ 1), 9 (→ 0), 10, 17, 19.
        Assert.Equal(new long[] { 2, 1, 0, 2, 1, 0 }, data.TrainLabels.data<long>().ToArray());
        Assert.Equal(IdxFixture.PixelOf(9, 0), data.TrainImages[2, 0, 5, 5].item<byte>());
        Assert.Equal(new long[] { 2, 1, 0 }, data.TestLabels.data<long>().ToArray());
    }

    [Theory]
    [InlineData("Ankle boot", 9)]
    [InlineData("ANKLE_BOOT", 9)]
    [InlineData("T-shirt/top", 0)]
    [InlineData("top", 0)]
    [InlineData("bag", 8)]
    [InlineData(" 3 ", 3)]
    public void Class_names_are_forgiving(string given, int expected) =>
        Assert.Equal([expected], FashionMnist.ResolveClasses([given]));

    [Theory]
    [InlineData("10", "out of range")]
    [InlineData("hat", "unknown Fashion-MNIST class 'hat'")]
    [InlineData("", "unknown Fashion-MNIST class")]
    public void Bad_class_is_refused(string given, string message) =>
        Assert.Contains(message, Assert.Throws<UserInputException>(() => FashionMnist.ResolveClasses([given])).Message);

    [Fact]
    public void Duplicate_class_is_refused() =>
        Assert.Contains("listed twice", Assert.Throws<UserInputException>(() => FashionMnist.ResolveClasses(["0", "t-shirt"])).Message);

    [Fact]
    public void Limits_take_the_first_items_of_each_class_balanced()
    {
        // 3 classes, limit 5 → quotas 2,2,1; test limit 3 → one each.
        using var data = DatasetLoader.Load(Spec("1", "2", "3") with { TrainLimit = 5, TestLimit = 3 });
        Assert.Equal(new long[] { 0, 1, 2, 0, 1 }, data.TrainLabels.data<long>().ToArray());
        Assert.Equal(IdxFixture.PixelOf(11, 0), data.TrainImages[3, 0, 0, 0].item<byte>());
        Assert.Equal(3, data.TestCount);
    }

    [Fact]
    public void Limit_below_the_class_count_is_refused() =>
        Assert.Contains("smaller than the number of classes",
            Assert.Throws<UserInputException>(() => DatasetLoader.Load(Spec() with { TrainLimit = 3 })).Message);

    [Fact]
    public void Mean_and_std_come_from_the_train_split()
    {
        using var data = DatasetLoader.Load(Spec("0", "1"));
        // Train items 0, 1, 10, 11 → solid pixels 0, 7, 70, 77.
        double[] values = [0, 7, 70, 77];
        var mean = values.Average();
        var std = Math.Sqrt(values.Select(v => (v - mean) * (v - mean)).Average());
        Assert.Equal(mean / 255, data.Mean[0], 5);
        Assert.Equal(std / 255, data.Std[0], 5);
    }

    [Fact]
    public void To_gives_an_independent_copy()
    {
        var data = DatasetLoader.Load(Spec());
        var (mean, std) = (data.Mean, data.Std);
        using var copy = data.To(CPU);
        data.Dispose();
        Assert.Equal(10, copy.TrainImages.shape[0]);
        Assert.Equal(IdxFixture.PixelOf(1, 0), copy.TrainImages[1, 0, 0, 0].item<byte>());
        Assert.Equal(new long[] { 0, 1, 2, 3, 4 }, copy.TestLabels.data<long>().ToArray());
        Assert.Equal(mean, copy.Mean);
        Assert.Equal(std, copy.Std);
        Assert.Equal(data.ClassNames, copy.ClassNames);
    }

    [Fact]
    public void Missing_folder_is_refused() =>
        Assert.Contains("fashion-mnist folder not found",
            Assert.Throws<UserInputException>(() => DatasetLoader.Load(Spec() with { Root = _files.PathOf("nope") })).Message);

    [Fact]
    public void Missing_file_is_refused()
    {
        File.Delete(_files.PathOf(FashionMnist.TestLabelsFile));
        var error = Assert.Throws<UserInputException>(() => DatasetLoader.Load(Spec()));
        Assert.Contains($"{FashionMnist.TestLabelsFile}: file not found", error.Message);
    }

    [Fact]
    public void Bad_magic_is_refused()
    {
        _files.WriteImages(FashionMnist.TrainImagesFile, 20, 0, magic: IdxFile.LabelsMagic);
        var error = Assert.Throws<UserInputException>(() => DatasetLoader.Load(Spec()));
        Assert.Contains("bad IDX magic 0x00000801, expected 0x00000803", error.Message);
        Assert.Contains(FashionMnist.TrainImagesFile, error.Message);
    }

    [Fact]
    public void Truncated_file_is_refused()
    {
        // Header promises 20 images, body holds 19.
        _files.WriteGzip(FashionMnist.TrainImagesFile, IdxFixture.Header(IdxFile.ImagesMagic, 20, 28, 28), new byte[19 * 784]);
        var error = Assert.Throws<UserInputException>(() => DatasetLoader.Load(Spec()));
        Assert.Contains($"{FashionMnist.TrainImagesFile}: truncated", error.Message);
    }

    [Fact]
    public void Truncated_gzip_stream_is_refused()
    {
        var path = _files.PathOf(FashionMnist.TrainImagesFile);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var error = Assert.Throws<UserInputException>(() => DatasetLoader.Load(Spec()));
        Assert.Contains(FashionMnist.TrainImagesFile, error.Message);
    }

    [Theory]
    [InlineData("middle")]
    [InlineData("crc")]
    public void A_byte_flipped_inside_the_gzip_data_or_its_checksum_is_refused(string where)
    {
        // Stored (uncompressed) deflate blocks: the flipped byte still inflates, only the CRC-32 can tell.
        var path = _files.PathOf(FashionMnist.TrainImagesFile);
        var body = Enumerable.Range(0, 20 * 784).Select(i => (byte)(i % 251)).ToArray();
        using (var gzip = new System.IO.Compression.GZipStream(File.Create(path), System.IO.Compression.CompressionLevel.NoCompression))
        {
            gzip.Write(IdxFixture.Header(IdxFile.ImagesMagic, 20, 28, 28));
            gzip.Write(body);
        }
        var bytes = File.ReadAllBytes(path);
        bytes[where == "crc" ? bytes.Length - 6 : bytes.Length / 2] ^= 0x5A;
        File.WriteAllBytes(path, bytes);
        var error = Assert.Throws<UserInputException>(() => DatasetLoader.Load(Spec()));
        Assert.Contains($"{FashionMnist.TrainImagesFile}: corrupt", error.Message);
    }

    [Fact]
    public void A_header_claiming_more_than_the_file_holds_is_refused_before_allocating()
    {
        // 2^31 - 1 labels claimed, 20 present: refused from the gzip trailer's length, nothing that size allocated.
        _files.WriteGzip(FashionMnist.TrainLabelsFile, IdxFixture.Header(IdxFile.LabelsMagic, int.MaxValue), TrainLabels);
        var before = GC.GetTotalAllocatedBytes();
        var error = Assert.Throws<UserInputException>(() => DatasetLoader.Load(Spec()));
        Assert.Contains($"{FashionMnist.TrainLabelsFile}: truncated or damaged: its IDX header claims 2147483647 labels", error.Message);
        Assert.True(GC.GetTotalAllocatedBytes() - before < 500_000_000, "the claimed size was allocated");
    }

    [Fact]
    public void Data_after_the_payload_is_refused()
    {
        var labels = TrainLabels.Concat(new byte[] { 1, 2, 3 }).ToArray();
        _files.WriteGzip(FashionMnist.TrainLabelsFile, IdxFixture.Header(IdxFile.LabelsMagic, TrainLabels.Length), labels);
        var error = Assert.Throws<UserInputException>(() => DatasetLoader.Load(Spec()));
        Assert.Contains(FashionMnist.TrainLabelsFile, error.Message);
        Assert.Contains("IDX header claims", error.Message); // the trailer's length counts the extra bytes
    }

    [Fact]
    public void Label_count_mismatch_is_refused()
    {
        _files.WriteLabels(FashionMnist.TestLabelsFile, TestLabels[..9]);
        var error = Assert.Throws<UserInputException>(() => DatasetLoader.Load(Spec()));
        Assert.Contains("9 labels but", error.Message);
        Assert.Contains("has 10 images", error.Message);
    }

    [Fact]
    public void Label_out_of_range_is_refused()
    {
        var labels = (byte[])TrainLabels.Clone();
        labels[4] = 12;
        _files.WriteLabels(FashionMnist.TrainLabelsFile, labels);
        var error = Assert.Throws<UserInputException>(() => DatasetLoader.Load(Spec()));
        Assert.Contains("label 12 of item 4 is out of range", error.Message);
    }

    [Fact]
    public void Plain_file_is_refused_as_not_gzip()
    {
        File.WriteAllBytes(_files.PathOf(FashionMnist.TrainLabelsFile), IdxFixture.Header(IdxFile.LabelsMagic, 20).Concat(TrainLabels).ToArray());
        var error = Assert.Throws<UserInputException>(() => DatasetLoader.Load(Spec()));
        Assert.Contains($"{FashionMnist.TrainLabelsFile}: not a gzip file", error.Message);
    }

    [Fact]
    public void Wrong_image_size_is_refused() =>
        Assert.Contains("image size 32 is not supported",
            Assert.Throws<UserInputException>(() => DatasetLoader.Load(Spec() with { ImageSize = 32 })).Message);

    [Fact]
    public void Unknown_dataset_is_refused() =>
        Assert.Contains("unknown dataset 'cifar'",
            Assert.Throws<UserInputException>(() => DatasetLoader.Load(Spec() with { Dataset = "cifar" })).Message);
}
