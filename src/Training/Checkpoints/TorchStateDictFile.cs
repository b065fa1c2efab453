using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using static TorchSharp.torch;

namespace SamCluster.Training.Checkpoints;

/// <summary>
/// Writes a state dict the way torch.save does, so `torch.load(path)` returns it as an OrderedDict of tensors (also
/// under torch ≥ 2.6's weights_only loading, which allows exactly these globals). The file is a zip archive:
/// archive/version, archive/byteorder, archive/data.pkl (a protocol-2 pickle of the OrderedDict in which each tensor
/// is a call to torch._utils._rebuild_tensor_v2 on a storage named by persistent id) and archive/data/&lt;k&gt;, each
/// storage's raw little-endian bytes. Entries are stored uncompressed, as torch.save stores them: deflating float
/// weights gains almost nothing and cost seconds per trial.
/// </summary>
public static class TorchStateDictFile
{
    const string Root = "archive";

    public static void Write(Stream output, IEnumerable<(string Name, Tensor Tensor)> entries)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("state dicts are written little-endian");
        using var zip = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true);
        WriteText(zip, "version", "3\n");
        WriteText(zip, "byteorder", "little");

        var pickle = new PickleWriter();
        pickle.Global("collections", "OrderedDict");
        pickle.EmptyTuple();
        pickle.Reduce();
        pickle.Mark();
        var key = 0;
        foreach (var (name, tensor) in entries)
        {
            // detach() and cpu() make temporaries libtorch reads after nothing holds them; the scope holds them until
            // the entry is written (see FlatBuffer.Slice).
            using var copies = NewDisposeScope();
            var cpu = tensor.detach().cpu().contiguous();
            var storageKey = (key++).ToString(System.Globalization.CultureInfo.InvariantCulture);
            using (var data = zip.CreateEntry($"{Root}/data/{storageKey}", CompressionLevel.NoCompression).Open())
                data.Write(cpu.bytes);
            pickle.Unicode(name);
            pickle.Tensor(StorageType(cpu.dtype), storageKey, cpu.numel(), cpu.shape);
        }
        pickle.SetItems();
        pickle.Stop();
        using (var pkl = zip.CreateEntry($"{Root}/data.pkl", CompressionLevel.NoCompression).Open())
            pkl.Write(pickle.ToArray());
    }

    static void WriteText(ZipArchive zip, string name, string text)
    {
        using var entry = zip.CreateEntry($"{Root}/{name}", CompressionLevel.NoCompression).Open();
        entry.Write(Encoding.ASCII.GetBytes(text));
    }

    static string StorageType(ScalarType dtype) => dtype switch
    {
        ScalarType.Float32 => "FloatStorage",
        ScalarType.Float64 => "DoubleStorage",
        ScalarType.Float16 => "HalfStorage",
        ScalarType.BFloat16 => "BFloat16Storage",
        ScalarType.Int64 => "LongStorage",
        ScalarType.Int32 => "IntStorage",
        ScalarType.Int16 => "ShortStorage",
        ScalarType.Int8 => "CharStorage",
        ScalarType.Byte => "ByteStorage",
        ScalarType.Bool => "BoolStorage",
        _ => throw new NotSupportedException($"no PyTorch storage type for {dtype}"),
    };

    /// <summary>The few pickle opcodes a state dict needs (protocol 2, as torch.save writes).</summary>
    sealed class PickleWriter
    {
        readonly MemoryStream _bytes = new();

        public PickleWriter()
        {
            _bytes.WriteByte(0x80); // PROTO
            _bytes.WriteByte(2);
        }

        public byte[] ToArray() => _bytes.ToArray();

        public void Mark() => _bytes.WriteByte((byte)'(');
        public void EmptyTuple() => _bytes.WriteByte((byte)')');
        public void Tuple() => _bytes.WriteByte((byte)'t');           // from the last mark
        public void Reduce() => _bytes.WriteByte((byte)'R');
        public void SetItems() => _bytes.WriteByte((byte)'u');        // key/value pairs since the last mark
        public void BinPersId() => _bytes.WriteByte((byte)'Q');
        public void False() => _bytes.WriteByte(0x89);                // NEWFALSE
        public void Stop() => _bytes.WriteByte((byte)'.');

        public void Global(string module, string name)
        {
            _bytes.WriteByte((byte)'c');
            _bytes.Write(Encoding.ASCII.GetBytes($"{module}\n{name}\n"));
        }

        public void Unicode(string value)
        {
            var utf8 = Encoding.UTF8.GetBytes(value);
            _bytes.WriteByte((byte)'X'); // BINUNICODE: 4-byte little-endian length
            Span<byte> length = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(length, utf8.Length);
            _bytes.Write(length);
            _bytes.Write(utf8);
        }

        public void Int(long value)
        {
            Span<byte> buffer = stackalloc byte[8];
            if (value is >= 0 and < 256)
            {
                _bytes.WriteByte((byte)'K');
                _bytes.WriteByte((byte)value);
            }
            else if (value is >= int.MinValue and <= int.MaxValue)
            {
                _bytes.WriteByte((byte)'J');
                BinaryPrimitives.WriteInt32LittleEndian(buffer, (int)value);
                _bytes.Write(buffer[..4]);
            }
            else
            {
                _bytes.WriteByte(0x8a); // LONG1: 8 bytes, two's complement
                _bytes.WriteByte(8);
                BinaryPrimitives.WriteInt64LittleEndian(buffer, value);
                _bytes.Write(buffer);
            }
        }

        public void IntTuple(IReadOnlyList<long> values)
        {
            if (values.Count == 0) { EmptyTuple(); return; }
            Mark();
            foreach (var v in values) Int(v);
            Tuple();
        }

        /// <summary>torch._utils._rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict()) for a contiguous tensor.</summary>
        public void Tensor(string storageType, string storageKey, long numel, long[] shape)
        {
            Global("torch._utils", "_rebuild_tensor_v2");
            Mark();
            Mark();
            Unicode("storage");
            Global("torch", storageType);
            Unicode(storageKey);
            Unicode("cpu");
            Int(numel);
            Tuple();
            BinPersId();
            Int(0);
            IntTuple(shape);
            IntTuple(ContiguousStrides(shape));
            False();
            Global("collections", "OrderedDict");
            EmptyTuple();
            Reduce();
            Tuple();
            Reduce();
        }

        static long[] ContiguousStrides(long[] shape)
        {
            var strides = new long[shape.Length];
            long stride = 1;
            for (var i = shape.Length - 1; i >= 0; i--)
            {
                strides[i] = stride;
                stride *= shape[i];
            }
            return strides;
        }
    }
}
