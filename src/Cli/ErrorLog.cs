using System.Globalization;
using System.Text;
using SamCluster.Messages;

namespace SamCluster.Cli;

/// <summary>
/// Where an internal error's trace goes when no run folder is open: a per-user file,
/// <c>$XDG_STATE_HOME/samcluster/errors.log</c> (default <c>~/.local/state/samcluster/errors.log</c>), each entry appended
/// with its time, the process, the command line and the whole trace.
/// </summary>
public static class ErrorLog
{
    /// <summary>The file, or null when neither XDG_STATE_HOME (absolute) nor a home folder is known.</summary>
    public static string? FilePath()
    {
        var state = Environment.GetEnvironmentVariable("XDG_STATE_HOME");
        if (string.IsNullOrWhiteSpace(state) || !Path.IsPathRooted(state)) // the XDG spec: relative paths are ignored
        {
            var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile, Environment.SpecialFolderOption.DoNotVerify);
            if (string.IsNullOrEmpty(home)) return null;
            state = Path.Combine(home, ".local", "state");
        }
        return Path.Combine(state, "samcluster", "errors.log");
    }

    /// <summary>Appends the entry; returns the file, or null when it could not be written, with why in
    /// <paramref name="problem"/>.</summary>
    /// <param name="commandLine">The command line as it may be recorded (secrets masked), the program's name first.</param>
    public static string? Append(Exception error, IReadOnlyList<string> commandLine, out string? problem)
    {
        problem = null;
        var path = FilePath();
        if (path is null)
        {
            problem = "neither $XDG_STATE_HOME nor a home folder is known for the error log";
            return null;
        }
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var entry = new StringBuilder()
                .Append("---- ").Append(DateTimeOffset.Now.ToString("yyyy-MM-dd HH:mm:ss zzz", CultureInfo.InvariantCulture))
                .Append(" pid ").Append(Environment.ProcessId).Append(" on ").Append(Environment.MachineName).Append('\n')
                .Append("command: ").AppendJoin(' ', commandLine.Select(Quote)).Append('\n')
                .Append(error).Append("\n\n")
                .ToString();
            File.AppendAllText(path, entry);
            return path;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            problem = $"the error log {path} cannot be written: {TraceLoggedException.FirstLine(e.Message)}";
            return null;
        }
    }

    static string Quote(string arg) =>
        arg.Length > 0 && arg.All(c => char.IsLetterOrDigit(c) || "-_./:=,@+%".Contains(c)) ? arg : "'" + arg.Replace("'", "'\\''") + "'";
}
