using System.Runtime.InteropServices;
using SamCluster.Experiment;
using SamCluster.Messages;

namespace SamCluster.RunStore;

/// <summary>
/// One process owns a run folder: an exclusive advisory lock (flock) on the folder itself, held for the process's life
/// and released by the kernel however the process ends. Locking the directory rather than a file in it means a refused
/// process creates nothing there. The holder writes who it is to .owner, so the next one can say whom it waits for.
/// </summary>
public sealed partial class RunFolderLock : IDisposable
{
    const string OwnerFile = ".owner";
    int _fd;

    RunFolderLock(int fd, string root)
    {
        _fd = fd;
        Root = root;
    }

    public string Root { get; }

    /// <summary>Takes the lock on an existing folder, or refuses (UserInputException) naming the holder.</summary>
    public static RunFolderLock Acquire(string root, string outDirAsGiven)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return new RunFolderLock(-1, root); // no flock: unguarded
        var fd = Open(root, ReadOnly | Directory | CloseOnExec);
        if (fd < 0)
            throw new UserInputException($"--out {outDirAsGiven} cannot be opened (errno {Marshal.GetLastPInvokeError()})");
        if (Flock(fd, LockExclusive | LockNonBlocking) != 0)
        {
            Close(fd);
            throw new UserInputException(
                $"--out {outDirAsGiven} is in use by {Holder(root)}; wait for that run to end or stop it, or choose another --out folder");
        }
        return new RunFolderLock(fd, root);
    }

    /// <summary>Whether a live process holds the folder now (a coordinator or `local` running it).</summary>
    public static bool IsHeld(string root)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return true; // cannot tell: assume it may be
        var fd = Open(root, ReadOnly | Directory | CloseOnExec);
        if (fd < 0) return false;
        try
        {
            return Flock(fd, LockShared | LockNonBlocking) != 0;
        }
        finally
        {
            Close(fd); // also drops the shared lock if it was taken
        }
    }

    /// <summary>Records this process as the holder (after the folder has been accepted as this run's). Written whole or
    /// not at all (a temporary file renamed into place): a process refused meanwhile reads the holder's line, never an
    /// empty file it would have to call "another process".</summary>
    public void RecordOwner() => DurableFile.WriteAllText(Path.Combine(Root, OwnerFile),
        $"pid {Environment.ProcessId} on {Environment.MachineName} since {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm:ss}Z\n");

    /// <summary>Who holds the folder as its .owner says ("pid N on HOST since ..."), else "another process".</summary>
    public static string Holder(string root)
    {
        try
        {
            // Read as any file of a folder others can write to: bounded (a FIFO or a device in its place must not hang us).
            var owner = System.Text.Encoding.UTF8.GetString(InputFile.ReadAllBytes(Path.Combine(root, OwnerFile), 1024, "a run folder's owner")).Trim();
            return owner.Length > 0 && owner.Length < 200 && owner.All(c => !char.IsControl(c)) ? owner : "another process";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or UserInputException)
        {
            return "another process";
        }
    }

    public void Dispose()
    {
        if (_fd >= 0) Close(_fd); // closing the descriptor releases the lock
        _fd = -1;
    }

    const int ReadOnly = 0, LockShared = 1, LockExclusive = 2, LockNonBlocking = 4;
    static int Directory => OperatingSystem.IsMacOS() ? 0x100000 : 0x10000;   // O_DIRECTORY
    static int CloseOnExec => OperatingSystem.IsMacOS() ? 0x1000000 : 0x80000; // O_CLOEXEC: node processes must not inherit it

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static partial int Flock(int fd, int operation);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
