using SamCluster.Messages;

namespace SamCluster.Experiment;

/// <summary>Reads a file the user names (a grid, a results table) without trusting what it is: a FIFO nobody writes to
/// would block the open for ever, a device such as /dev/zero never ends, so the open is given a few seconds and the
/// read stops one byte past the limit. Problems are UserInputExceptions naming the file.</summary>
public static class InputFile
{
    public static byte[] ReadAllBytes(string path, long maxBytes, string whatItShouldBe)
    {
        using var stream = UserPaths.OpenRead(path, whatItShouldBe);
        // A device (/dev/zero, /dev/urandom) says it holds nothing yet never ends: refused at its first byte instead of
        // after reading up to the limit (hundreds of MiB).
        var sizeSaid = stream.CanSeek ? stream.Length : -1;
        var buffer = new MemoryStream();
        var chunk = new byte[1 << 16];
        try
        {
            int read;
            while ((read = stream.Read(chunk)) > 0)
            {
                if (sizeSaid == 0)
                    throw new UserInputException($"{path}: is not a regular file (a device that never ends?), not {whatItShouldBe}");
                buffer.Write(chunk, 0, read);
                if (buffer.Length > maxBytes)
                    throw new UserInputException($"{path}: is larger than {maxBytes / 1024:N0} KiB: not {whatItShouldBe}");
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UserInputException($"{path}: cannot be read: {e.Message}", e);
        }
        return buffer.ToArray();
    }
}
