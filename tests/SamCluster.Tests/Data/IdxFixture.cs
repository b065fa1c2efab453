using System.Buffers.Binary;
using System.IO.Compression;
using SamCluster.Training.Data;

namespace SamCluster.Tests.Data;

/// <summary>A temp folder of tiny Fashion-MNIST-format files: image i of a split has every pixel = (i * 7 + offset) % 256,
/// so a test can tell which source image ended up where.</summary>
sealed class IdxFixture : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("samcluster-idx-").FullName;

    public static byte PixelOf(int index, int offset) => (byte)((index * 7 + offset) % 256);

    public IdxFixture(byte[] trainLabels, byte[] testLabels)
    {
        WriteImages(FashionMnist.TrainImagesFile, trainLabels.Length, offset: 0);
        WriteLabels(FashionMnist.TrainLabelsFile, trainLabels);
        WriteImages(FashionMnist.TestImagesFile, testLabels.Length, offset: 100);
        WriteLabels(FashionMnist.TestLabelsFile, testLabels);
    }

    public string PathOf(string file) => Path.Combine(Root, file);

    public void WriteImages(string file, int count, int offset, int side = 28, int magic = IdxFile.ImagesMagic)
    {
        var body = new byte[count * side * side];
        for (var i = 0; i < count; i++)
            body.AsSpan(i * side * side, side * side).Fill(PixelOf(i, offset));
        WriteGzip(file, Header(magic, count, side, side), body);
    }

    public void WriteLabels(string file, byte[] labels, int magic = IdxFile.LabelsMagic) =>
        WriteGzip(file, Header(magic, labels.Length), labels);

    public void WriteGzip(string file, byte[] header, byte[] body)
    {
        using var stream = new GZipStream(File.Create(PathOf(file)), CompressionLevel.Fastest);
        stream.Write(header);
        stream.Write(body);
    }

    public static byte[] Header(int magic, params int[] dims)
    {
        var header = new byte[4 + 4 * dims.Length];
        BinaryPrimitives.WriteInt32BigEndian(header, magic);
        for (var i = 0; i < dims.Length; i++)
            BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4 + 4 * i), dims[i]);
        return header;
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
