using System.Runtime.InteropServices;

namespace SamCluster.Messages;

/// <summary>
/// Paths the user names, checked and opened without trusting what they are: a folder the program will write into
/// (a checkpoint store) must be writable before anything starts, and a file it reads (data, a certificate) may be a
/// FIFO nobody writes to, whose open(2) would block for ever. Problems are <see cref="UserInputException"/>s (exit 2)
/// that name the path and the missing right.
/// </summary>
public static partial class UserPaths
{
    /// <summary>How long an open may block (a FIFO with no writer) before the path is refused.</summary>
    public static readonly TimeSpan OpenTimeout = TimeSpan.FromSeconds(3);

    /// <summary>Kernel file systems: they take no checkpoints, and walking them (symlink loops, files that never end)
    /// does not finish.</summary>
    static readonly string[] KernelFileSystems = ["/proc", "/sys", "/dev"];

    /// <summary>Refuses a folder the program could not write into: under /proc, /sys or /dev, a file, or on a
    /// read-only file system or without write permission (for a folder not made yet: its nearest existing parent,
    /// where it would be made). Writes nothing. Returns the full path.</summary>
    /// <param name="flag">The flag that named it, for the message ("--checkpoint-dir").</param>
    public static string CheckWritableFolder(string folder, string flag)
    {
        var full = Path.GetFullPath(folder);
        if (KernelFileSystems.FirstOrDefault(root => full == root || full.StartsWith(root + "/", StringComparison.Ordinal)) is { } kernel)
            throw new UserInputException($"{flag} {folder} is under {kernel}, a kernel file system, not a folder that can hold files; choose a folder on a disk");
        var existing = full;
        while (!Directory.Exists(existing))
        {
            if (File.Exists(existing) || IsLink(existing))
                throw new UserInputException(existing == full
                    ? $"{flag} {folder} is a file, not a folder"
                    : $"{flag} {folder} cannot be made: {existing} is a file, not a folder");
            existing = Path.GetDirectoryName(existing) ?? "/";
        }
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return full;
        if (Access(existing, WriteOk | ExecuteOk) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            var where = existing == full ? "" : $" (it would be made in {existing})";
            throw new UserInputException(errno switch
            {
                ReadOnlyFileSystem => $"{flag} {folder} is on a read-only file system{where}; the nodes could not write checkpoints there — choose a writable folder",
                PermissionDenied => $"{flag} {folder} is not writable by user {Environment.UserName}{where}: it needs the right to write (w) and enter (x) " +
                                    $"{existing}; choose another folder or grant them",
                _ => $"{flag} {folder} cannot be written{where}: {Marshal.GetPInvokeErrorMessage(errno)}",
            });
        }
        return full;
    }

    static bool IsLink(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget is not null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Opens a file the user named for reading, giving the open <see cref="OpenTimeout"/>: a FIFO nobody
    /// writes to is refused, not waited on for ever (its blocked thread ends with the process). Directories, missing
    /// files and unreadable ones are refused too, each naming <paramref name="whatItShouldBe"/>.</summary>
    public static FileStream OpenRead(string path, string whatItShouldBe, int bufferSize = 1 << 16, CancellationToken cancel = default)
    {
        if (Directory.Exists(path)) throw new UserInputException($"{path}: is a folder, not {whatItShouldBe}");
        if (!File.Exists(path)) throw new UserInputException($"{path}: file not found");
        var open = Task.Run(() => new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize));
        try
        {
            if (!open.Wait(OpenTimeout, cancel))
            {
                // Whenever the open does return, its file is closed: nobody else will.
                open.ContinueWith(t => t.Result.Dispose(), TaskContinuationOptions.OnlyOnRanToCompletion);
                throw new UserInputException(
                    $"{path}: cannot be opened within {OpenTimeout.TotalSeconds:0} s: not a regular file (a pipe nobody writes to?), not {whatItShouldBe}");
            }
        }
        catch (AggregateException e) when (e.InnerException is IOException or UnauthorizedAccessException)
        {
            throw new UserInputException($"{path}: cannot be read: {e.InnerException!.Message}", e.InnerException);
        }
        return open.Result;
    }

    const int WriteOk = 2, ExecuteOk = 1;                       // access(2) modes
    const int PermissionDenied = 13, ReadOnlyFileSystem = 30;  // EACCES, EROFS (Linux and macOS)

    [LibraryImport("libc", EntryPoint = "access", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Access(string path, int mode);
}
