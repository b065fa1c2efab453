using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace SamCluster.Messages;

/// <summary>A file that is not a regular file (a FIFO, a device, a socket, a folder) where one was expected.</summary>
public sealed class NotARegularFileException(string message) : IOException(message);

/// <summary>What statx(2) says of an open file.</summary>
/// <param name="Type">Its S_IFMT bits.</param>
/// <param name="Links">Its hard link count: how many names the file has.</param>
public readonly record struct FileStatus(int Type, uint Links)
{
    const int FileTypeMask = 0xF000, RegularType = 0x8000, FolderType = 0x4000; // S_IFMT, S_IFREG, S_IFDIR

    public bool IsRegular => (Type & FileTypeMask) == RegularType;

    public bool IsFolder => (Type & FileTypeMask) == FolderType;
}

/// <summary>
/// Opens files the program wrote itself (checkpoints, weights, trial logs) in folders anyone may put something else into:
/// a FIFO named like a checkpoint would block open(2) for ever, and a device would never end. The file is opened without
/// blocking and kept only if it is a regular file — said at once, not after a timeout, so a reader that finds one can
/// skip it like a damaged file. Unlike <see cref="UserPaths.OpenRead"/> (a path the user typed, refused with exit 2),
/// the failure is an ordinary IOException for the caller to weigh.
/// </summary>
public static partial class RegularFile
{
    /// <summary>Opens <paramref name="path"/> (links followed) for reading.</summary>
    /// <exception cref="NotARegularFileException">It is a FIFO, a device, a socket or a folder.</exception>
    /// <exception cref="FileNotFoundException">It does not exist.</exception>
    /// <exception cref="UnauthorizedAccessException">It may not be read.</exception>
    /// <exception cref="IOException">It cannot be opened for another reason (a symbolic link loop, say).</exception>
    public static FileStream OpenRead(string path, int bufferSize = 4096)
    {
        if (!OperatingSystem.IsLinux()) return OpenBounded(path, bufferSize);
        var fd = Open(path, ReadOnly | NonBlocking | CloseOnExec);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            var message = $"{path}: {Marshal.GetPInvokeErrorMessage(errno)}";
            throw errno switch
            {
                NoSuchEntry => new FileNotFoundException(message, path),
                NotAFolder => new DirectoryNotFoundException(message),
                PermissionDenied => new UnauthorizedAccessException(message),
                _ => new IOException(message),
            };
        }
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            var status = StatusOf(handle) ?? throw new IOException($"{path}: its type cannot be read (statx failed)");
            if (!status.IsRegular)
                throw new NotARegularFileException(status.IsFolder ? $"{path} is a folder, not a regular file" : $"{path} is not a regular file (a pipe or a device?)");
            // O_NONBLOCK stays set: it changes nothing in how a regular file is read.
            return new FileStream(handle, FileAccess.Read, bufferSize);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>What statx(2) says of <paramref name="handle"/>'s file; null where it cannot say (not Linux, or the
    /// call failed).</summary>
    public static FileStatus? StatusOf(SafeFileHandle handle)
    {
        if (!OperatingSystem.IsLinux()) return null;
        var status = new byte[StatxSize];
        if (Statx(handle, "", EmptyPath, StatxType | StatxLinks, status) != 0) return null;
        return new FileStatus(BitConverter.ToUInt16(status, StatxModeOffset), BitConverter.ToUInt32(status, StatxLinksOffset));
    }

    /// <summary>Where there is no statx: an open that has not returned within <see cref="UserPaths.OpenTimeout"/> is
    /// taken for a FIFO nobody writes to (its blocked thread ends with the process).</summary>
    static FileStream OpenBounded(string path, int bufferSize)
    {
        if (Directory.Exists(path)) throw new NotARegularFileException($"{path} is a folder, not a regular file");
        var open = Task.Run(() => new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize));
        if (Task.WhenAny(open, Task.Delay(UserPaths.OpenTimeout)).GetAwaiter().GetResult() != open)
        {
            open.ContinueWith(t => t.Result.Dispose(), TaskContinuationOptions.OnlyOnRanToCompletion);
            throw new NotARegularFileException($"{path} cannot be opened within {UserPaths.OpenTimeout.TotalSeconds:0} s: not a regular file (a pipe nobody writes to?)");
        }
        return open.GetAwaiter().GetResult();
    }

    const int ReadOnly = 0, NonBlocking = 0x800, CloseOnExec = 0x80000;   // O_RDONLY, O_NONBLOCK, O_CLOEXEC (Linux)
    const int NoSuchEntry = 2, PermissionDenied = 13, NotAFolder = 20;   // ENOENT, EACCES, ENOTDIR
    const int EmptyPath = 0x1000, StatxType = 0x1, StatxLinks = 0x4;     // AT_EMPTY_PATH, STATX_TYPE, STATX_NLINK
    const int StatxSize = 256, StatxLinksOffset = 16, StatxModeOffset = 28; // struct statx: the same layout on every architecture

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(SafeFileHandle fd, string path, int flags, int mask, [Out] byte[] status);
}
