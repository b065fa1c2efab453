namespace SamCluster.Messages;

/// <summary>An internal error whose trace is written to <see cref="LogPath"/> (the run folder's logs/run.clef): the
/// CLI names it in one line and points there.</summary>
public sealed class TraceLoggedException(Exception error, string logPath) : Exception(error.Message, error)
{
    public string LogPath { get; } = logPath;

    /// <summary>"IOException: first line of its message", of the innermost exception that says something.</summary>
    public static string Summary(Exception e)
    {
        while (e is AggregateException { InnerExceptions.Count: 1 } or System.Reflection.TargetInvocationException && e.InnerException is { } inner)
            e = inner;
        return $"{e.GetType().Name}: {FirstLine(e.Message)}";
    }

    public static string FirstLine(string message)
    {
        var line = message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "";
        return line.Length > 300 ? line[..300] + "…" : line;
    }
}
