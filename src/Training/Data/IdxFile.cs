using System.Buffers.Binary;
using System.IO.Compression;
using SamCluster.Messages;

namespace SamCluster.Training.Data;

/// <summary>Reads gzip-compressed IDX files (the MNIST / Fashion-MNIST format: big-endian magic 0x0000080N, N dimensions,
/// then unsigned bytes). Every defect is a <see cref="UserInputException"/> naming the file.</summary>
public static class IdxFile
{
    public const int ImagesMagic = 0x00000803, LabelsMagic = 0x00000801;

    /// <summary>Images of one IDX file: <see cref="Count"/> images of Rows×Cols bytes, back to back.</summary>
    public sealed record Images(byte[] Pixels, int Count, int Rows, int Cols)
    {
        public int PixelsPerImage => Rows * Cols;
    }

    public static Images ReadImages(string path)
    {
        using var stream = OpenGzip(path);
        var dims = ReadHeader(stream, path, ImagesMagic);
        var (count, rows, cols) = (dims[0], dims[1], dims[2]);
        if ((long)count * rows * cols > Array.MaxLength)
            throw new UserInputException($"{path}: {count} images of {rows}x{cols} are too many to load at once");
        var pixels = new byte[(long)count * rows * cols];
        Fill(stream, path, pixels, $"{count} images of {rows}x{cols}");
        return new Images(pixels, count, rows, cols);
    }

    public static byte[] ReadLabels(string path)
    {
        using var stream = OpenGzip(path);
        var dims = ReadHeader(stream, path, LabelsMagic);
        var labels = new byte[dims[0]];
        Fill(stream, path, labels, $"{dims[0]} labels");
        return labels;
    }

    static GZipStream OpenGzip(string path)
    {
        if (!File.Exists(path))
            throw new UserInputException($"{path}: file not found");
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        Span<byte> signature = stackalloc byte[2];
        // Checked up front so a plain (uncompressed) file is named as such, not reported as a corrupt gzip stream.
        if (file.ReadAtLeast(signature, 2, throwOnEndOfStream: false) < 2 || signature[0] != 0x1f || signature[1] != 0x8b)
        {
            file.Dispose();
            throw new UserInputException($"{path}: not a gzip file (expected the .gz IDX file as distributed)");
        }
        file.Position = 0;
        return new GZipStream(file, CompressionMode.Decompress);
    }

    static int[] ReadHeader(Stream stream, string path, int expectedMagic)
    {
        Span<byte> word = stackalloc byte[4];
        Fill(stream, path, word, "the IDX header");
        var magic = BinaryPrimitives.ReadInt32BigEndian(word);
        if (magic != expectedMagic)
            throw new UserInputException(
                $"{path}: bad IDX magic 0x{magic:X8}, expected 0x{expectedMagic:X8} ({(expectedMagic == ImagesMagic ? "images" : "labels")})");
        var dims = new int[expectedMagic & 0xFF];
        for (var i = 0; i < dims.Length; i++)
        {
            Fill(stream, path, word, "the IDX header");
            dims[i] = BinaryPrimitives.ReadInt32BigEndian(word);
            if (dims[i] <= 0)
                throw new UserInputException($"{path}: bad IDX header, dimension {i} is {dims[i]}");
        }
        return dims;
    }

    static void Fill(Stream stream, string path, Span<byte> buffer, string what)
    {
        try
        {
            stream.ReadExactly(buffer);
        }
        catch (EndOfStreamException)
        {
            throw new UserInputException($"{path}: truncated, the file ends before {what}");
        }
        catch (InvalidDataException e)
        {
            throw new UserInputException($"{path}: corrupt gzip data while reading {what} ({e.Message})", e);
        }
    }
}
