namespace SamCluster.Messages;

/// <summary>Recognizes "the disk is full" among I/O failures: ENOSPC or EDQUOT (Linux, macOS), ERROR_DISK_FULL or
/// ERROR_HANDLE_DISK_FULL (Windows), anywhere in an exception's chain. A full disk is neither a bug nor bad input: a run
/// that meets it ends with one line and exit code 1, and the same command resumes it once space is freed.</summary>
public static class DiskFull
{
    const int Enospc = 28, EdquotLinux = 122, EdquotMac = 69;
    const int ErrorHandleDiskFull = 39, ErrorDiskFull = 112;

    /// <summary>True when <paramref name="e"/>, or an exception it wraps, is a write that failed for want of space.</summary>
    public static bool Is(Exception? e) => Find(e) is not null;

    /// <summary>The full-disk failure in <paramref name="e"/>'s chain (a <see cref="DiskFullException"/> where one was
    /// thrown, naming the file), or null.</summary>
    public static Exception? Find(Exception? e)
    {
        for (var depth = 0; e is not null && depth < 32; depth++, e = e.InnerException)
        {
            if (e is DiskFullException) return e;
            if (e is AggregateException aggregate)
                return aggregate.InnerExceptions.Select(Find).FirstOrDefault(found => found is not null);
            if (e is IOException && IsNoSpaceCode(e.HResult)) return e;
        }
        return null;
    }

    /// <summary><paramref name="e"/> as a <see cref="DiskFullException"/> naming <paramref name="path"/> (the file being
    /// written) when it is a full disk, else null.</summary>
    public static DiskFullException? Wrap(Exception e, string path) => Find(e) switch
    {
        DiskFullException known => known,
        { } found => new DiskFullException(path, found),
        null => null,
    };

    static bool IsNoSpaceCode(int hresult)
    {
        // .NET puts the raw errno in HResult on Unix, and HRESULT_FROM_WIN32(code) on Windows.
        if (OperatingSystem.IsWindows()) return (hresult & 0xFFFF) is ErrorDiskFull or ErrorHandleDiskFull && (hresult >> 16 & 0x1FFF) == 7;
        return hresult is Enospc || hresult == (OperatingSystem.IsMacOS() ? EdquotMac : EdquotLinux);
    }
}

/// <summary>A file could not be written because its filesystem is full (or the user's quota is spent).
/// <see cref="Path"/> is the file as the writer saw it (absolute); <see cref="Node"/> the node that wrote it, when not
/// this process.</summary>
public sealed class DiskFullException(string path, Exception? inner = null, string? node = null)
    : IOException($"no space left on device (writing {path}{(node is null ? "" : $" on {node}")})", inner)
{
    public string Path { get; } = path;
    public string? Node { get; } = node;

    /// <summary>"no space left on device under ROOT (writing FILE)": ROOT is the first of <paramref name="roots"/> (the
    /// folders the user named: the run folder, the checkpoint store) that holds the file, FILE the path below it; with
    /// none, the file's own folder. A relative <see cref="Path"/> is taken to lie under the first root.</summary>
    public string Describe(params string?[] roots)
    {
        var known = roots.OfType<string>().Select(r => System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(r))).ToList();
        string folder, file;
        if (!System.IO.Path.IsPathRooted(Path) && known.Count > 0)
            (folder, file) = (known[0], Path);
        else
        {
            var full = System.IO.Path.GetFullPath(Path);
            var root = known.FirstOrDefault(r => IsUnder(full, r));
            (folder, file) = root is not null
                ? (root, System.IO.Path.GetRelativePath(root, full))
                : (System.IO.Path.GetDirectoryName(full) ?? full, System.IO.Path.GetFileName(full));
        }
        return $"no space left on device under {folder} (writing {file}{(Node is null ? "" : $" on {Node}")})";
    }

    static bool IsUnder(string path, string root)
    {
        var prefix = System.IO.Path.TrimEndingDirectorySeparator(root) + System.IO.Path.DirectorySeparatorChar;
        return path.StartsWith(prefix, StringComparison.Ordinal);
    }
}
