using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;
using SamCluster.Messages;

namespace SamCluster.RunStore;

/// <summary>
/// Reads a run folder's file for someone outside the run (the live page's routes), and only the run's own: a regular
/// file inside the folder, reached without any symbolic link. A link placed in the folder (logs/x.log → /etc/passwd,
/// or logs/fashion-mnist → /) would otherwise hand out whatever it points at, so every component below the folder is
/// checked, the file is opened without following a link and without blocking (a FIFO), and, on Linux, the path the
/// kernel actually opened must be the one asked for, which also catches a component swapped for a link in between; a
/// file with a second name (a hard link, which no path check can tell from the original) is refused too.
/// </summary>
public static partial class RunFolderFile
{
    public enum Outcome { Read, Missing, Refused }

    /// <summary>Reads <paramref name="path"/> (under <paramref name="runFolder"/>) as UTF-8 text.</summary>
    /// <param name="why">What was refused or missing, without the file's contents; empty when read.</param>
    public static Outcome TryReadText(string runFolder, string path, out string text, out string why)
    {
        text = "";
        var outcome = Open(runFolder, path, out var stream, out why);
        if (outcome != Outcome.Read) return outcome;
        using (stream)
        using (var reader = new StreamReader(stream!, Encoding.UTF8))
            text = reader.ReadToEnd();
        return Outcome.Read;
    }

    static Outcome Open(string runFolder, string path, out FileStream? stream, out string why)
    {
        stream = null;
        why = "";
        var root = Path.GetFullPath(runFolder);
        var relative = Path.GetRelativePath(root, Path.GetFullPath(path));
        if (relative == "." || relative == ".." || relative.StartsWith("../", StringComparison.Ordinal) || Path.IsPathRooted(relative))
        {
            why = "it is not inside the run folder";
            return Outcome.Refused;
        }
        // The folder itself may be reached through links (--out is the user's choice); below it, nothing may be.
        if (RealPath(root) is not { } realRoot)
        {
            why = "the run folder does not exist";
            return Outcome.Missing;
        }
        var current = realRoot;
        var parts = relative.Split(Path.DirectorySeparatorChar);
        for (var i = 0; i < parts.Length; i++)
        {
            current = Path.Combine(current, parts[i]);
            var entry = new FileInfo(current);
            if (entry.LinkTarget is not null)
            {
                why = $"{Path.Combine(parts[..(i + 1)])} is a symbolic link";
                return Outcome.Refused;
            }
            var last = i == parts.Length - 1;
            if (last ? !entry.Exists : !Directory.Exists(current))
            {
                if (last && Directory.Exists(current))
                {
                    why = $"{relative} is a folder";
                    return Outcome.Refused;
                }
                why = $"{relative} does not exist";
                return Outcome.Missing;
            }
        }
        if (!OperatingSystem.IsLinux())
        {
            stream = new FileStream(current, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            return Outcome.Read;
        }
        return OpenOnLinux(current, relative, out stream, out why);
    }

    static Outcome OpenOnLinux(string path, string relative, out FileStream? stream, out string why)
    {
        stream = null;
        why = "";
        var fd = OpenFile(path, ReadOnly | NoFollow | NonBlocking | CloseOnExec);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            why = errno switch
            {
                SymbolicLinkLoop => $"{relative} is a symbolic link",
                NoSuchEntry => $"{relative} does not exist",
                _ => $"{relative} cannot be opened (errno {errno})",
            };
            return errno == NoSuchEntry ? Outcome.Missing : Outcome.Refused;
        }
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            // A FIFO or a device (its open did not block: O_NONBLOCK) is never one of the run's files.
            if (RegularFile.StatusOf(handle) is not { IsRegular: true } status)
            {
                why = $"{relative} is not a regular file";
                return Outcome.Refused;
            }
            // Nor is a hard link to a file elsewhere (ln /etc/passwd logs/x.log, on the same file system): it is a regular
            // file inside the folder with no link to see. The run writes its files under one name only (appended to, or
            // renamed into place), so a second name means someone else made it.
            if (status.Links > 1)
            {
                why = $"{relative} has {status.Links} hard links: not one of the run's own files";
                return Outcome.Refused;
            }
            // What the kernel opened: the same path unless a component became a link after the walk above.
            var opened = new FileInfo($"/proc/self/fd/{fd}").LinkTarget;
            if (opened is not null && opened != path)
            {
                why = $"{relative} resolves outside the run folder";
                return Outcome.Refused;
            }
            stream = new FileStream(handle, FileAccess.Read);
            return Outcome.Read;
        }
        finally
        {
            if (stream is null) handle.Dispose();
        }
    }

    /// <summary>The canonical path (every link resolved), or null when it does not exist.</summary>
    static string? RealPath(string path)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
            return Directory.Exists(path) ? path : null;
        var resolved = ResolvePath(path, 0);
        if (resolved == 0) return null;
        try
        {
            return Marshal.PtrToStringUTF8(resolved);
        }
        finally
        {
            Marshal.FreeHGlobal(resolved); // free(3): what realpath allocated
        }
    }

    const int ReadOnly = 0, NonBlocking = 0x800, CloseOnExec = 0x80000;
    // O_NOFOLLOW: 0100000 on ARM (32 and 64 bit), 0400000 on x86 and most others.
    static int NoFollow => RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x8000 : 0x20000;
    const int NoSuchEntry = 2, SymbolicLinkLoop = 40; // ENOENT, ELOOP (Linux)

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int OpenFile(string path, int flags);

    [LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint ResolvePath(string path, nint resolved);
}
