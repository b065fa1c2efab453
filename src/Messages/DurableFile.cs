using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace SamCluster.Messages;

/// <summary>Files that are either entirely there or not at all, for every file the program writes whole (run.json, the
/// result tables, reports, checkpoints, weights, the data cache): written under a temporary name in the destination's
/// folder, flushed to the disk, renamed over the destination, and the folder's entry synced — a reader never sees half
/// a file, and a crash or power loss leaves the previous version. The temporary file never outlives the call. A full
/// disk is thrown as <see cref="DiskFullException"/> naming the destination; whatever was there before is left as it
/// was.</summary>
public static partial class DurableFile
{
    public const string TempSuffix = ".tmp";

    /// <summary>A temporary path beside <paramref name="destination"/>: hidden, unique per writer, and starting with
    /// "." + the destination's name, so a store can recognize (and clear) what a killed writer left.</summary>
    static string TempPathFor(string destination) =>
        Path.Combine(Path.GetDirectoryName(destination)!,
            $".{Path.GetFileName(destination)}.{Environment.ProcessId}-{Guid.NewGuid():N}{TempSuffix}");

    public static void WriteAllText(string path, string text) => WriteAllBytes(path, new UTF8Encoding(false).GetBytes(text));

    public static void WriteAllBytes(string path, byte[] bytes) => Write(path, file => file.Write(bytes));

    /// <summary>Creates the destination's folder, lets <paramref name="write"/> fill a temporary file (open for reading
    /// too, so the writer can hash what landed), syncs it and renames it into place.</summary>
    public static void Write(string destination, Action<FileStream> write)
    {
        destination = Path.GetFullPath(destination);
        var folder = Path.GetDirectoryName(destination)!;
        var temp = TempPathFor(destination);
        try
        {
            Directory.CreateDirectory(folder);
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 20))
            {
                write(file);
                file.Flush(flushToDisk: true);
            }
            File.Move(temp, destination, overwrite: true);
            SyncDirectory(folder);
        }
        catch (IOException e) when (DiskFull.Wrap(e, destination) is { } diskFull)
        {
            throw diskFull;
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>Copies <paramref name="source"/> to <paramref name="destination"/> durably, hashing the bytes as they
    /// are copied; refuses (and writes nothing) when they do not hash to <paramref name="expectedSha256"/>, and
    /// throws <see cref="NotARegularFileException"/> when the source is not a regular file.</summary>
    public static void CopyVerified(string source, string expectedSha256, string destination)
    {
        using var input = RegularFile.OpenRead(source, 1 << 20);   // a pipe in the source's place is refused, not waited on
        Write(destination, output =>
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[1 << 20];
            int read;
            while ((read = input.Read(buffer)) > 0)
            {
                hash.AppendData(buffer, 0, read);
                output.Write(buffer, 0, read);
            }
            var actual = Convert.ToHexStringLower(hash.GetHashAndReset());
            if (!string.Equals(actual, expectedSha256, StringComparison.OrdinalIgnoreCase))
                throw new InvalidDataException($"{source} is corrupt (sha256 mismatch: {actual[..12]}…, expected {expectedSha256[..Math.Min(12, expectedSha256.Length)]}…)");
        });
    }

    /// <summary>The SHA-256 (lower-case hex) of the whole stream, read from its start.</summary>
    public static string Sha256Of(Stream stream)
    {
        stream.Position = 0;
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>Makes a rename in <paramref name="folder"/> survive a power loss (POSIX: fsync the folder). Best effort:
    /// a no-op where the platform has no such call.</summary>
    static void SyncDirectory(string folder)
    {
        if (OperatingSystem.IsWindows()) return;
        try
        {
            var fd = Open(folder, 0 /* O_RDONLY */);
            if (fd < 0) return;
            Fsync(fd);
            Close(fd);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
        }
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync")]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
