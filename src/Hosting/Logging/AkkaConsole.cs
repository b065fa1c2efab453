using System.Text.RegularExpressions;
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
            output.Write(Readable(FirstLine(message, out var more)));
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

        /// <summary>Akka's cluster lines as a person reads them (issue 27): a member as the address it listens on
        /// ("127.0.0.1:40761") rather than its whole record (uid, status, roles, up-number, version), without the
        /// "Cluster Node [its own address] - " before it and the node's own roles after it. The CLEF stream keeps them whole.</summary>
        public static string Readable(string line)
        {
            if (!line.Contains("Member(address = ", StringComparison.Ordinal)) return line;
            line = Regex.Replace(line, @"^Cluster Node \[[^\]]*\] - ", "");
            line = Regex.Replace(line, @"Member\(address = [a-z.]+://[^@\s]+@([^,\s)]+)[^)]*\)", "$1");
            return Regex.Replace(line, @"\.? Node roles \[[^\]]*\]$", "");
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
