using System.Text;
using SamCluster.Messages;

namespace SamCluster.Messages;

/// <summary>Writes a file via a temporary sibling and a rename, so a reader never sees half a file and a crash
/// leaves the previous version intact. A full disk is thrown as <see cref="DiskFullException"/> naming the file; the
/// previous version is left as it was.</summary>
public static class AtomicFile
{
    public static void WriteAllText(string path, string text) => WriteAllBytes(path, new UTF8Encoding(false).GetBytes(text));

    public static void WriteAllBytes(string path, byte[] bytes)
    {
        var full = Path.GetFullPath(path);
        var temp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            {
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch (IOException e) when (DiskFull.Wrap(e, full) is { } diskFull)
        {
            throw diskFull;
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
