using SamCluster.Messages;
using SamCluster.RunStore;

namespace SamCluster.Coordinator.Serving;

/// <summary>A run folder found under a folder given to `serve` or `runs`: its name there (its path below that folder,
/// with '/', e.g. "quick" or "2026/lr-sweep"; the folder's own name when the folder given is the run) and its path.</summary>
public sealed record RunLocation(string Name, string Root);

/// <summary>
/// Finds the runs under the folders given: every folder holding a run.json, at any depth up to <see cref="MaxDepth"/>,
/// not looking inside a run (its logs/ and curves/ hold none) nor through a symbolic link (a link may point anywhere, and
/// would list one run twice), nor into hidden folders.
/// </summary>
public static class RunIndex
{
    public const int MaxDepth = 8;

    /// <summary>The runs under <paramref name="folders"/>, by name; throws <see cref="UserInputException"/> for a folder
    /// that does not exist or holds no run, or two runs of the same name (two folders given that hold one each).</summary>
    public static IReadOnlyList<RunLocation> FindAll(IReadOnlyList<string> folders)
    {
        var found = new List<RunLocation>();
        foreach (var folder in folders)
        {
            if (!Directory.Exists(folder)) throw new UserInputException($"{folder}: no such folder");
            var runs = Find(folder);
            if (runs.Count == 0)
                throw new UserInputException($"{folder} holds no run (no {RunManifestFile.FileName} in it or in a folder below it)");
            found.AddRange(runs);
        }
        if (found.GroupBy(r => r.Name).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new UserInputException($"two runs are named '{twice.Key}' ({string.Join(" and ", twice.Select(r => r.Root))}); give the folder above them instead");
        return found.OrderBy(r => r.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>The runs under one folder (none: an empty list; a folder that cannot be read is passed over).</summary>
    public static IReadOnlyList<RunLocation> Find(string folder)
    {
        var root = Path.GetFullPath(folder);
        if (IsRun(root))
            return [new RunLocation(Path.GetFileName(Path.TrimEndingDirectorySeparator(root)) is { Length: > 0 } name ? name : "run", root)];
        var found = new List<RunLocation>();
        Walk(root, root, 1, found);
        return found;
    }

    static void Walk(string top, string folder, int depth, List<RunLocation> found)
    {
        if (depth > MaxDepth) return;
        IEnumerable<DirectoryInfo> children;
        try
        {
            children = new DirectoryInfo(folder).EnumerateDirectories().Where(d => d.LinkTarget is null && !d.Name.StartsWith('.')).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }
        foreach (var child in children.OrderBy(d => d.Name, StringComparer.Ordinal))
        {
            if (IsRun(child.FullName))
                found.Add(new RunLocation(Path.GetRelativePath(top, child.FullName).Replace(Path.DirectorySeparatorChar, '/'), child.FullName));
            else
                Walk(top, child.FullName, depth + 1, found);
        }
    }

    /// <summary>A folder with its own run.json (a regular file, not a link to one elsewhere).</summary>
    static bool IsRun(string folder)
    {
        var manifest = new FileInfo(Path.Combine(folder, RunManifestFile.FileName));
        return manifest.Exists && manifest.LinkTarget is null;
    }
}
