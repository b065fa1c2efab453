using System.Buffers.Binary;
using System.IO.Compression;
using SamCluster.Messages;

namespace SamCluster.Training.Data;

/// <summary>Reads gzip-compressed IDX files (the MNIST / Fashion-MNIST format: big-endian magic 0x0000080N, N dimensions,
/// then unsigned bytes). Every defect is a <see cref="UserInputException"/> naming the file. The gzip trailer is checked:
/// the size the header claims against the trailer's length before anything is allocated, and the CRC-32 by reading the
/// stream to its end (zlib checks it there; a reader that stops at the last pixel never lets it, and a flipped byte in
/// a stored block would otherwise train silently).</summary>
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
        using var stream = CheckedGzip.Open(path);
        var dims = ReadHeader(stream, path, ImagesMagic);
        var (count, rows, cols) = (dims[0], dims[1], dims[2]);
        var what = $"{count} images of {rows}x{cols}";
        stream.ExpectPayload((long)count * rows * cols, what);
        if ((long)count * rows * cols > Array.MaxLength)
            throw new UserInputException($"{path}: {what} are too many to load at once");
        var pixels = new byte[(long)count * rows * cols];
        Fill(stream, path, pixels, what);
        stream.VerifyEnd();
        return new Images(pixels, count, rows, cols);
    }

    public static byte[] ReadLabels(string path)
    {
        using var stream = CheckedGzip.Open(path);
        var dims = ReadHeader(stream, path, LabelsMagic);
        stream.ExpectPayload(dims[0], $"{dims[0]} labels");
        var labels = new byte[dims[0]];
        Fill(stream, path, labels, $"{dims[0]} labels");
        stream.VerifyEnd();
        return labels;
    }

    /// <summary>A single-member gzip file, with its trailer's length (mod 2³²) at hand.</summary>
    sealed class CheckedGzip : Stream
    {
        readonly string _path;
        readonly GZipStream _inflate;
        readonly uint _trailerLength;
        long _read;

        CheckedGzip(string path, GZipStream inflate, uint trailerLength)
        {
            _path = path;
            _inflate = inflate;
            _trailerLength = trailerLength;
        }

        public static CheckedGzip Open(string path)
        {
            // A FIFO in place of the file would block a plain open for ever: the open is bounded.
            var file = UserPaths.OpenRead(path, "a gzip IDX file");
            try
            {
                Span<byte> signature = stackalloc byte[2];
                // Checked up front so a plain (uncompressed) file is named as such, not reported as a corrupt gzip stream.
                if (file.ReadAtLeast(signature, 2, throwOnEndOfStream: false) < 2 || signature[0] != 0x1f || signature[1] != 0x8b)
                    throw new UserInputException($"{path}: not a gzip file (expected the .gz IDX file as distributed)");
                if (file.Length < 18) throw new UserInputException($"{path}: truncated, too short for a gzip file");
                Span<byte> length = stackalloc byte[4];
                file.Position = file.Length - 4;
                file.ReadExactly(length);
                file.Position = 0;
                return new CheckedGzip(path, new GZipStream(file, CompressionMode.Decompress), BinaryPrimitives.ReadUInt32LittleEndian(length));
            }
            catch
            {
                file.Dispose();
                throw;
            }
        }

        /// <summary>Refuses a header whose claimed size disagrees with the file before anything that size is allocated.</summary>
        public void ExpectPayload(long payloadBytes, string what)
        {
            var total = _read + payloadBytes;
            if ((uint)total != _trailerLength)
                throw new UserInputException(
                    $"{_path}: truncated or damaged: its IDX header claims {what} ({total:N0} bytes), but the gzip trailer says the file holds {_trailerLength:N0} bytes");
        }

        /// <summary>Nothing may follow the data; reading on to the end makes zlib check the trailer's CRC-32.</summary>
        public void VerifyEnd()
        {
            Span<byte> probe = stackalloc byte[1];
            int extra;
            try
            {
                extra = Read(probe);
            }
            catch (InvalidDataException e)
            {
                throw new UserInputException($"{_path}: corrupt: its data does not match the gzip trailer's CRC-32, or the trailer is damaged ({e.Message})", e);
            }
            if (extra != 0) throw new UserInputException($"{_path}: unexpected data after the IDX payload");
        }

        public override int Read(Span<byte> buffer)
        {
            var n = _inflate.Read(buffer);
            _read += n;
            return n;
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _read; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) _inflate.Dispose();
            base.Dispose(disposing);
        }
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
