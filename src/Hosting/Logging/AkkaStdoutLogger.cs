using Akka.Event;
using Serilog.Events;

namespace SamCluster.Hosting.Logging;

/// <summary>
/// Akka's logger for when its real loggers are not running (akka.stdout-logger-class): while an actor system starts,
/// and as it stops — when Akka also hands it whatever its stopped loggers still had queued, at any level, which made
/// "[INFO][…] Remoting shut down." lines appear on the console at the end of a run. Here: warnings and errors only, one
/// line each, without the expected ones (<see cref="AkkaLog"/>), like the consoles' own filter.
/// </summary>
public sealed class AkkaStdoutLogger : MinimalLogger
{
    /// <summary>The HOCON line that installs it.</summary>
    public static string Hocon =>
        $"\nakka.stdout-logger-class = \"{typeof(AkkaStdoutLogger).FullName}, {typeof(AkkaStdoutLogger).Assembly.GetName().Name}\"\n";

    protected override void Log(object message)
    {
        if (message is not Akka.Event.LogEvent e || e.LogLevel() < Akka.Event.LogLevel.WarningLevel) return;
        var text = e.Message?.ToString() ?? "";
        if (AkkaLog.IsExpected(text)) return;
        var level = e.LogLevel() == Akka.Event.LogLevel.WarningLevel ? LogEventLevel.Warning : LogEventLevel.Error;
        var line = $"{e.Timestamp.ToLocalTime():HH:mm:ss} [{AkkaConsole.OneLine.Level(level)}] {AkkaConsole.OneLine.FirstLine(text, out _)}";
        if (e.Cause is { } cause) line += $" ({cause.GetType().Name}: {AkkaConsole.OneLine.FirstLine(cause.Message, out _)})";
        Console.Out.WriteLine(line);
    }
}
