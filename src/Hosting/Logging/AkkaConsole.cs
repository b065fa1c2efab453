using Serilog.Events;
using Serilog.Formatting;
using Serilog.Formatting.Display;

namespace SamCluster.Hosting.Logging;

/// <summary>How a console (and a node's log, which is its console) writes an entry: one line. Which entries reach it
/// is <see cref="AkkaLog.Shown"/>.</summary>
public static class AkkaConsole
{
    /// <summary>"HH:mm:ss [LVL] prefix message": the message's first line only (Akka puts whole traces into some
    /// messages), an exception as its type and first line. With <paramref name="errorTraces"/>, errors keep their whole
    /// trace below (a node has no log file to keep it in).</summary>
    public sealed class OneLine(string prefix = "", bool errorTraces = false) : ITextFormatter
    {
        static readonly MessageTemplateTextFormatter MessageOnly = new("{Message:lj}");

        public void Format(LogEvent e, TextWriter output)
        {
            output.Write(e.Timestamp.ToLocalTime().ToString("HH:mm:ss"));
            output.Write(" [");
            output.Write(Level(e.Level));
            output.Write("] ");
            output.Write(prefix);
            var rendered = new StringWriter();
            MessageOnly.Format(e, rendered);
            var message = rendered.ToString();
            output.Write(FirstLine(message, out var more));
            if (e.Exception is { } x)
            {
                if (errorTraces && e.Level >= LogEventLevel.Error)
                {
                    output.WriteLine();
                    output.Write(x);
                }
                else if (!message.Contains(x.Message.Split('\n')[0].Trim(), StringComparison.Ordinal))
                    output.Write($" ({x.GetType().Name}: {FirstLine(x.Message, out _)})");
            }
            else if (more && message.Contains("Exception", StringComparison.Ordinal)) output.Write(" …");
            output.WriteLine();
        }

        public static string FirstLine(string text, out bool more)
        {
            var end = text.IndexOfAny(['\r', '\n']);
            more = end >= 0;
            return more ? text[..end].TrimEnd() : text;
        }

        public static string Level(LogEventLevel level) => level switch
        {
            LogEventLevel.Verbose => "VRB",
            LogEventLevel.Debug => "DBG",
            LogEventLevel.Information => "INF",
            LogEventLevel.Warning => "WRN",
            LogEventLevel.Error => "ERR",
            _ => "FTL",
        };
    }
}
