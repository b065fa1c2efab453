using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SamCluster.Messages;
using static TorchSharp.torch;

namespace SamCluster.Training.Data;

/// <summary>The decoded Stanford Dogs splits on disk as raw uint8 [N,3,S,S] (one file per split) plus a JSON manifest.
/// The file names carry a hash of everything the pixels depend on (the split's file list with sizes and modification
/// times, labels, image size), so a changed folder or setting simply gives a new cache entry and never reads a stale
/// one. Files are written durably (<see cref="DurableFile"/>), the manifest last: concurrent processes on one machine
/// never see a half-written entry.</summary>
public sealed class DogsCache
{
    /// <summary>Bumped when the pixel pipeline changes (decoder, resampling, layout), which must invalidate old entries.</summary>
    const string FormatVersion = "stanford-dogs-cache v1 rgb chw mitchell";

    public string Directory { get; }
    public string Key { get; }
    public string ManifestPath => Path.Combine(Directory, $"stanford-dogs-{Key}.json");
    public string SplitPath(string split) => Path.Combine(Directory, $"stanford-dogs-{Key}.{split}.u8");

    public DogsCache(string directory, DogsSplit split, int imageSize)
    {
        Directory = directory;
        Key = ComputeKey(split, imageSize);
    }

    /// <summary>What an entry holds. Source and Classes are for people reading the cache folder; the key decides validity.</summary>
    sealed record Manifest(string Format, string Key, int ImageSize, int Channels, int TrainCount, int TestCount,
        DateTime Created, string? Source = null, IReadOnlyList<string>? Classes = null);

    static string ComputeKey(DogsSplit split, int imageSize)
    {
        var text = new StringBuilder().Append(FormatVersion).Append('\n').Append(imageSize).Append('\n');
        foreach (var (name, files) in new[] { ("train", split.Train), ("test", split.Test) })
        {
            text.Append(name).Append('\n');
            foreach (var file in files)
            {
                var info = new FileInfo(file.Path);
                // Breed folder + file name, not the absolute path: the same data mounted elsewhere reuses the cache.
                text.Append(file.Label).Append('\t').Append(Path.GetFileName(Path.GetDirectoryName(file.Path))).Append('/')
                    .Append(info.Name).Append('\t').Append(info.Length).Append('\t').Append(info.LastWriteTimeUtc.Ticks).Append('\n');
            }
        }
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..16];
    }

    /// <summary>The cached splits, or null when there is no complete entry for this key (a missing, partial or
    /// inconsistent entry is a miss, to be rebuilt, not an error).</summary>
    public (Tensor Train, Tensor Test)? TryRead(int trainCount, int testCount, int imageSize)
    {
        try
        {
            if (!File.Exists(ManifestPath))
                return null;
            var manifest = JsonSerializer.Deserialize<Manifest>(File.ReadAllText(ManifestPath));
            if (manifest is null || manifest.Format != FormatVersion || manifest.Key != Key || manifest.ImageSize != imageSize
                || manifest.TrainCount != trainCount || manifest.TestCount != testCount)
                return null;
            var train = ReadSplit("train", trainCount, imageSize);
            if (train is null)
                return null;
            var test = ReadSplit("test", testCount, imageSize);
            if (test is null)
            {
                train.Dispose();
                return null;
            }
            return (train, test);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }
    }

    /// <summary>One read straight into the tensor's memory.</summary>
    Tensor? ReadSplit(string split, int count, int imageSize)
    {
        var path = SplitPath(split);
        var expected = (long)count * 3 * imageSize * imageSize;
        if (!File.Exists(path) || new FileInfo(path).Length != expected)
            return null;
        var images = empty([count, 3, imageSize, imageSize], ScalarType.Byte);
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
            file.ReadExactly(images.bytes);
            return images;
        }
        catch
        {
            images.Dispose();
            throw;
        }
    }

    /// <summary>Stores both splits; an existing entry with the same key (written by a concurrent process) is replaced
    /// by identical bytes.</summary>
    public void Write(Tensor train, Tensor test, int imageSize, string source, IReadOnlyList<string> classes)
    {
        DurableFile.Write(SplitPath("train"), file => file.Write(train.bytes));
        DurableFile.Write(SplitPath("test"), file => file.Write(test.bytes));
        var manifest = new Manifest(FormatVersion, Key, imageSize, 3, (int)train.shape[0], (int)test.shape[0], DateTime.UtcNow,
            source, classes);
        DurableFile.Write(ManifestPath, file => JsonSerializer.Serialize(file, manifest, new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>The folder for cache entries: <paramref name="configured"/> when given (it must be writable), else
    /// ".samcluster-cache" beside the Images/ folder, else (read-only data) one under the system temp folder.</summary>
    public static string ChooseDirectory(string? configured, string imagesRoot)
    {
        if (!string.IsNullOrWhiteSpace(configured))
            return IsWritable(configured, out var reason)
                ? configured
                : throw new UserInputException($"cache folder {configured} is not writable ({reason})");
        var parent = Path.GetDirectoryName(Path.GetFullPath(imagesRoot).TrimEnd(Path.DirectorySeparatorChar)) ?? imagesRoot;
        var besideData = Path.Combine(parent, ".samcluster-cache");
        return IsWritable(besideData, out _) ? besideData : Path.Combine(Path.GetTempPath(), "samcluster-cache");
    }

    static bool IsWritable(string directory, out string reason)
    {
        try
        {
            System.IO.Directory.CreateDirectory(directory);
            var probe = Path.Combine(directory, $".probe.{Environment.ProcessId}.{Guid.NewGuid():N}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
            reason = "";
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            reason = e.Message;
            return false;
        }
    }
}
