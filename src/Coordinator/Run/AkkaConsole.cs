using Serilog.Events;
using Serilog.Formatting;
using Serilog.Formatting.Display;

namespace SamCluster.Coordinator.Run;

/// <summary>
/// What of Akka's own log (and the .NET host's) reaches a console, on the coordinator and on the nodes. A peer that
/// leaves — killed, cut off, stopped — makes remoting and the split-brain resolver log a burst of warnings with traces
/// (disassociated, gated, connection refused every few seconds, quarantined, downed): expected, so they stay off the
/// console (the coordinator's logs/run.clef keeps them all). The departure itself shows as Akka's one
/// "Marking node(s) as UNREACHABLE" line, and on the coordinator as its own "Worker … lost" line. Akka's internals
/// show from warnings up, our actors (a node's workers) from information up; every entry is one line.
/// </summary>
public static class AkkaConsole
{
    /// <summary>Message templates (their start) of what remoting and the split-brain resolver log when a peer goes away.</summary>
    static readonly string[] PeerDeparture =
    [
        "Association with remote system ",             // ... has failed; address is now gated for N ms. Reason is: [trace]
        "Disassociated",
        "Tried to associate with unreachable remote address",
        "Association to [",                            // ... having UID [..] is irrecoverably failed. UID is now quarantined
        "SBR took decision",
    ];

    /// <summary>Whether an entry belongs on the console (see the class).</summary>
    public static bool Shown(LogEvent e)
    {
        if (IsPeerDeparture(e)) return false;
        var path = Text(e, "ActorPath");
        var akka = path is not null || Text(e, "SourceContext") is { } context && (context.StartsWith("Akka.", StringComparison.Ordinal)
                                                                                     || context.StartsWith("Microsoft.", StringComparison.Ordinal));
        if (!akka) return true; // our own messages
        var ourActor = path is not null && path.Contains("/user/", StringComparison.Ordinal);
        return e.Level >= (ourActor ? LogEventLevel.Information : LogEventLevel.Warning);
    }

    /// <summary>True for the warnings (and the one error) a departing peer brings; see <see cref="PeerDeparture"/>.</summary>
    public static bool IsPeerDeparture(LogEvent e) => IsPeerDeparture(e.MessageTemplate.Text);

    /// <summary>The same for a message's text (its template, or as rendered).</summary>
    public static bool IsPeerDeparture(string message)
    {
        if (PeerDeparture.Any(p => message.StartsWith(p, StringComparison.Ordinal))) return true;
        // "AssociationError [a] -> b: Error [Connection refused ...]" while the peer is down; other association errors
        // (a TLS handshake refused, say) are news and stay.
        return message.StartsWith("AssociationError ", StringComparison.Ordinal)
               && (message.Contains("Connection refused", StringComparison.Ordinal) || message.Contains("Disassociated", StringComparison.Ordinal));
    }

    static string? Text(LogEvent e, string property) =>
        e.Properties.TryGetValue(property, out var value) && value is ScalarValue { Value: string s } ? s : null;

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
