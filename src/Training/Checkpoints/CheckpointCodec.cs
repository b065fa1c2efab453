using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using SamCluster.Messages;
using SamCluster.Training.Optimization;
using TorchSharp;
using static TorchSharp.torch;

namespace SamCluster.Training.Checkpoints;

/// <summary>
/// The checkpoint file's bytes: a payload then a 48-byte trailer — the payload's length (int64 LE), its SHA-256 (32
/// bytes, the hex of which is CheckpointRef.Sha256), "SAMCKEND". The payload: "SAMCKPT1", format version, trial id,
/// attempt, epoch, spec fingerprint and JSON, data-order seed, history, plateau state, the model's state dict (name,
/// dtype, shape, raw bytes each), then the optimizer's own TorchSharp serialization (save_state_dict). Where the files
/// live, and which to keep, is <see cref="CheckpointStore"/>'s business.
/// </summary>
internal static class CheckpointCodec
{
    private const int FormatVersion = 1;
    private const int TrailerLength = 8 + 32 + 8;
    private static readonly byte[] Magic = "SAMCKPT1"u8.ToArray();
    private static readonly byte[] EndMagic = "SAMCKEND"u8.ToArray();

    /// <summary>A checkpoint's header: what the payload says about itself, and where its tensors and the optimizer's
    /// state are (read with tensors only).</summary>
    public sealed record Header(string TrialId, int Attempt, int Epoch, string Fingerprint, string SpecJson, long DataOrderSeed,
        List<EpochMetrics> History, PlateauState Plateau, List<(string Name, TensorEntry Entry)> Tensors, long OptimizerOffset);

    public sealed record TensorEntry(ScalarType DType, long[] Shape, long Offset, long ByteCount);

    // ---- writing ----------------------------------------------------------------------------------------------------

    /// <summary>Writes payload and trailer to <paramref name="file"/>, hashing the payload as it goes; returns its
    /// SHA-256 (lower-case hex).</summary>
    public static string Write(Stream file, TrialSpec spec, int attempt, int epoch, nn.Module model, optim.Optimizer optimizer,
        PlateauState plateau, IReadOnlyList<EpochMetrics> history)
    {
        using var hashing = new HashingWriteStream(file);
        using (var writer = new BinaryWriter(hashing, Encoding.UTF8, leaveOpen: true))
            WritePayload(writer, spec, attempt, epoch, model, optimizer, plateau, history);
        var digest = hashing.Digest();
        Span<byte> trailer = stackalloc byte[TrailerLength];
        BinaryPrimitives.WriteInt64LittleEndian(trailer, hashing.Length);
        digest.CopyTo(trailer[8..]);
        EndMagic.CopyTo(trailer[40..]);
        file.Write(trailer);
        return Convert.ToHexStringLower(digest);
    }

    private static void WritePayload(BinaryWriter writer, TrialSpec spec, int attempt, int epoch, nn.Module model,
        optim.Optimizer optimizer, PlateauState plateau, IReadOnlyList<EpochMetrics> history)
    {
        writer.Write(Magic);
        writer.Write(FormatVersion);
        writer.Write(spec.Key.Id);
        writer.Write(attempt);
        writer.Write(epoch);
        writer.Write(TrialFingerprint.Of(spec));
        writer.Write(TrialFingerprint.Json(spec));
        writer.Write(spec.Seed);   // the data order: epoch e draws randperm(Generator(seed + e))
        writer.Write(history.Count);
        foreach (var m in history)
        {
            writer.Write(m.Epoch);
            writer.Write(m.TrainLoss);
            writer.Write(m.TrainAcc);
            writer.Write(m.TestLoss);
            writer.Write(m.TestAcc);
            writer.Write(m.LearningRate);
            writer.Write(m.Seconds);
            writer.Write(m.ImagesPerSecond);
        }
        writer.Write(plateau.Best);
        writer.Write(plateau.BadEpochs);
        writer.Write(plateau.LearningRate);

        var state = model.state_dict();
        writer.Write(state.Count);
        using (no_grad())
            foreach (var (name, tensor) in state)
            {
                writer.Write(name);
                writer.Write((int)tensor.dtype);
                writer.Write(tensor.shape.Length);
                foreach (var d in tensor.shape) writer.Write(d);
                writer.Write(tensor.NumberOfElements * tensor.ElementSize);
                // A CPU tensor's memory is written as it is; others are copied to the host first (synchronously).
                if (tensor.device_type == DeviceType.CPU && tensor.is_contiguous())
                {
                    writer.Write(tensor.bytes);
                    continue;
                }
                using var copies = NewDisposeScope();
                writer.Write(tensor.detach().to(CPU).contiguous().bytes);
            }
        Managed(optimizer).save_state_dict(writer);
    }

    // ---- reading ----------------------------------------------------------------------------------------------------

    /// <summary>The SHA-256 a file's trailer records; null where it has none (torn, truncated, not a checkpoint).</summary>
    public static string? TrailerSha256(string file)
    {
        try
        {
            using var stream = RegularFile.OpenRead(file, 1);   // a pipe named like a checkpoint: null, not a blocked open
            if (stream.Length < TrailerLength) return null;
            Span<byte> trailer = stackalloc byte[TrailerLength];
            stream.Seek(-TrailerLength, SeekOrigin.End);
            stream.ReadExactly(trailer);
            return trailer[40..].SequenceEqual(EndMagic) ? Convert.ToHexStringLower(trailer[8..40]) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Length, trailer and checksum; returns a problem ("is corrupt (…)") or null, and the payload's length.</summary>
    public static string? CheckIntegrity(FileStream file, string expectedSha256, out long payloadLength)
    {
        payloadLength = 0;
        long length = file.Length;
        if (length < TrailerLength + Magic.Length) return $"is corrupt (truncated: {length} bytes)";
        Span<byte> trailer = stackalloc byte[TrailerLength];
        file.Seek(-TrailerLength, SeekOrigin.End);
        file.ReadExactly(trailer);
        if (!trailer[40..].SequenceEqual(EndMagic)) return $"is corrupt (no trailer: torn or truncated, {length} bytes)";
        payloadLength = BinaryPrimitives.ReadInt64LittleEndian(trailer);
        if (payloadLength + TrailerLength != length)
            return $"is corrupt (wrong length: {length} bytes, its trailer says {payloadLength + TrailerLength})";
        var recorded = Convert.ToHexStringLower(trailer[8..40]);
        if (!string.Equals(recorded, expectedSha256, StringComparison.OrdinalIgnoreCase))
            return "is corrupt (sha256 mismatch: the file's trailer differs from its reference)";

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        file.Position = 0;
        for (long left = payloadLength; left > 0;)
        {
            int read = file.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
            if (read == 0) return "is corrupt (shorter than it was a moment ago)";
            hash.AppendData(buffer, 0, read);
            left -= read;
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset()) == recorded ? null : "is corrupt (sha256 mismatch)";
    }

    /// <summary>The header up to the data-order seed (who the checkpoint is of), without checking the trailer.</summary>
    public static Header ReadSpecHeader(FileStream file) => ReadHeader(file, file.Length - TrailerLength, withTensors: false);

    /// <summary>The whole header, tensors' places included; throws InvalidDataException (or what BinaryReader throws)
    /// when the payload does not read as one.</summary>
    public static Header ReadHeader(FileStream file, long payloadLength) => ReadHeader(file, payloadLength, withTensors: true);

    private static Header ReadHeader(FileStream file, long payloadLength, bool withTensors)
    {
        file.Position = 0;
        using var reader = new BinaryReader(file, Encoding.UTF8, leaveOpen: true);
        if (!reader.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic)) throw new InvalidDataException("not a SamCluster checkpoint");
        var version = reader.ReadInt32();
        if (version != FormatVersion) throw new InvalidDataException($"format version {version}, this build reads {FormatVersion}");
        var trialId = reader.ReadString();
        var attempt = reader.ReadInt32();
        var epoch = reader.ReadInt32();
        var fingerprint = reader.ReadString();
        var specJson = reader.ReadString();
        var seed = reader.ReadInt64();
        if (!withTensors) return new Header(trialId, attempt, epoch, fingerprint, specJson, seed, [], default, [], 0);

        var count = reader.ReadInt32();
        if (count is < 0 or > 100_000) throw new InvalidDataException($"history of {count} epochs");
        var history = new List<EpochMetrics>(count);
        for (int i = 0; i < count; i++)
            history.Add(new EpochMetrics(reader.ReadInt32(), reader.ReadDouble(), reader.ReadDouble(), reader.ReadDouble(),
                reader.ReadDouble(), reader.ReadDouble(), reader.ReadDouble(), reader.ReadDouble()));
        var plateau = new PlateauState(reader.ReadDouble(), reader.ReadInt32(), reader.ReadDouble());

        var tensorCount = reader.ReadInt32();
        if (tensorCount is < 0 or > 1_000_000) throw new InvalidDataException($"{tensorCount} tensors");
        var tensors = new List<(string, TensorEntry)>(tensorCount);
        for (int i = 0; i < tensorCount; i++)
        {
            var name = reader.ReadString();
            var dtype = (ScalarType)reader.ReadInt32();
            var rank = reader.ReadInt32();
            if (rank is < 0 or > 16) throw new InvalidDataException($"tensor {name} of rank {rank}");
            var shape = new long[rank];
            for (int d = 0; d < rank; d++) shape[d] = reader.ReadInt64();
            var bytes = reader.ReadInt64();
            if (bytes < 0 || file.Position + bytes > payloadLength) throw new InvalidDataException($"tensor {name} runs past the payload");
            tensors.Add((name, new TensorEntry(dtype, shape, file.Position, bytes)));
            file.Seek(bytes, SeekOrigin.Current);
        }
        return new Header(trialId, attempt, epoch, fingerprint, specJson, seed, history, plateau, tensors, file.Position);
    }

    /// <summary>Same names, dtypes and shapes as the model's state dict, so loading cannot fail half-way; returns a
    /// problem ("does not fit this model (…)") or null.</summary>
    public static string? CheckFits(Header header, nn.Module model)
    {
        var state = model.state_dict();
        var names = header.Tensors.Select(t => t.Name).ToHashSet();
        var missing = state.Keys.Where(k => !names.Contains(k)).ToList();
        var extra = names.Where(n => !state.ContainsKey(n)).ToList();
        if (missing.Count > 0 || extra.Count > 0)
            return $"does not fit this model (missing {string.Join(", ", missing.Take(3))}{(missing.Count > 3 ? ", …" : "")}; " +
                   $"unexpected {string.Join(", ", extra.Take(3))}{(extra.Count > 3 ? ", …" : "")})";
        foreach (var (name, entry) in header.Tensors)
        {
            var target = state[name];
            if (target.dtype != entry.DType || !target.shape.SequenceEqual(entry.Shape) || target.NumberOfElements * target.ElementSize != entry.ByteCount)
                return $"does not fit this model ({name} is {entry.DType}[{string.Join(", ", entry.Shape)}], the model's {target.dtype}[{string.Join(", ", target.shape)}])";
        }
        return null;
    }

    /// <summary>Copies the header's tensors into the model (checked by <see cref="CheckFits"/>).</summary>
    public static void LoadModel(FileStream file, Header header, nn.Module model)
    {
        var targets = model.state_dict();
        using (no_grad())
            foreach (var (name, entry) in header.Tensors)
            {
                file.Position = entry.Offset;
                ReadInto(file, targets[name]);
            }
    }

    /// <summary>Loads the optimizer's state, which must end where the payload does; throws IOException,
    /// InvalidDataException or ArgumentException when it does not read as this optimizer's.</summary>
    public static void LoadOptimizer(FileStream file, Header header, long payloadLength, optim.Optimizer optimizer)
    {
        file.Position = header.OptimizerOffset;
        using (var reader = new BinaryReader(file, Encoding.UTF8, leaveOpen: true))
            Managed(optimizer).load_state_dict(reader);
        if (file.Position != payloadLength) throw new InvalidDataException("the optimizer's state does not end where the payload does");
        KeepOutOfDisposeScopes(optimizer);
    }

    private static void ReadInto(FileStream file, Tensor target)
    {
        if (target.device_type == DeviceType.CPU && target.is_contiguous())
        {
            file.ReadExactly(target.bytes);
            return;
        }
        using var host = empty(target.shape, target.dtype, CPU);
        file.ReadExactly(host.bytes);
        target.copy_(host);
    }

    /// <summary>Optimizers implemented in .NET (SGD among them) can serialize their state; native ones cannot.</summary>
    private static TorchSharp.Modules.OptimizerHelper Managed(optim.Optimizer optimizer) =>
        optimizer as TorchSharp.Modules.OptimizerHelper
        ?? throw new ArgumentException($"{optimizer.GetType().Name} cannot save its state", nameof(optimizer));

    /// <summary>Momentum buffers created while loading must live as long as the optimizer, whatever scope the caller has open.</summary>
    private static void KeepOutOfDisposeScopes(optim.Optimizer optimizer)
    {
        foreach (var state in Managed(optimizer).state_dict().State)
            if (state is TorchSharp.Modules.SGD.State sgd)
                sgd.momentum_buffer?.DetachFromDisposeScope();
    }
}
