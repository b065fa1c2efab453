using System.Globalization;
using Serilog;
using Serilog.Core;
using Serilog.Events;

namespace SamCluster.Hosting.Logging;

/// <summary>
/// Akka's own log (through Akka.Logger.Serilog) and the .NET host's, on their way into our outputs. Events that a
/// normal run brings — a peer leaving or stopping (disassociated, gated, connection refused, quarantined, downed), the
/// coordinator singleton handed over or stopped, a node waiting for a coordinator that is not up yet, the cluster's own messages dead-lettered while it shuts down —
/// are demoted to Debug: they are no fault, and the process says what matters in its own words ("Worker … lost",
/// "Lost the coordinator", "cannot reach the coordinator"). Everything else keeps its level, so a real fault still
/// shows. On a console (a node's log is its console) Akka and the host show from Warning up, our own lines (ours: no
/// source context, or a SamCluster type — our actors log through Akka) from Information up; --verbose shows all.
/// </summary>
public static class AkkaLog
{
    /// <summary>How the expected events above start (their message as rendered): the one list.</summary>
    static readonly string[] Expected =
    [
        // remoting, when a peer goes away: "Association with remote system [a] has failed; address is now gated for N ms.
        // Reason is: [Disassociated]", the endpoint's own "Disassociated" (an error, with a trace), "Tried to associate
        // with unreachable remote address [a]", "Association to [a] having UID [u] is irrecoverably failed. UID is now
        // quarantined", "Quarantined address [a] is still unreachable or has not been restarted", "Remote system with
        // address [a] has shut down"
        "Association with remote system ",
        "Disassociated",
        "Tried to associate with unreachable remote address",
        "Association to [",
        "Quarantined address [",
        "Remote system with address [",
        // the split-brain resolver downing a member that left or was lost (the coordinator's "Worker … lost" says it)
        "SBR took decision",
        // a node whose coordinator is not up (yet, or any more): the node's own line per attempt says it
        "Couldn't join seed nodes after",
        // a node's proxy before it joined, or after its coordinator left
        "ClusterSingletonProxy failed to find an associated singleton",
        // the grid coordinator singleton handed over or stopped as its member leaves: "ClusterSingletonManager state
        // change [Oldest -> WasOldest]", "Singleton manager stopping singleton actor [a]", "Singleton actor [a] was
        // terminated" (and "… observed OldestChanged: [a -> b]", matched below)
        "ClusterSingletonManager state change [",
        "Singleton manager stopping singleton actor",
        "Singleton actor [",
        // DotNetty's transport at shutdown, a connection closed as its group is torn down: "Unable to REMOVE channel [a->b]
        // (Id=…) from connection group. May not shut down cleanly."
        "Unable to REMOVE channel ",
    ];

    /// <summary>How remoting's errors about a connection from something that is no cluster member start — random bytes,
    /// an HTTP request, a half-open connection, plain TCP to a TLS port (a port scanner, a probe): remoting drops that
    /// connection and nothing else is affected, so they are warnings (worth noticing, no fault of the run), not errors.</summary>
    static readonly string[] ForeignTraffic =
    [
        "Error caught channel [",                     // DotNetty: "(TooLongFrameException: …)", "(CorruptedFrameException: …)"
        "Error while decoding incoming Akka PDU",
        "No response from remote for inbound association. Handshake timed out",
        // a TLS system's server side when the other end speaks no TLS, or presents no certificate it accepts (remoting
        // then rejects the connection with a warning of its own; a member refused so says it on its side)
        "TLS handshake failed on channel [",
    ];

    /// <summary>Whether a message (as rendered) is remoting's complaint about a connection that is no member's.</summary>
    public static bool IsForeignTraffic(string message)
    {
        foreach (var start in ForeignTraffic)
            if (message.StartsWith(start, StringComparison.Ordinal)) return true;
        return false;
    }

    /// <summary>Whether a message (as rendered) is one of the expected events (<see cref="Expected"/>).</summary>
    public static bool IsExpected(string message)
    {
        foreach (var start in Expected)
            if (message.StartsWith(start, StringComparison.Ordinal)) return true;
        if (IsRoutineDeadLetter(message) || message.Contains(" observed OldestChanged: [", StringComparison.Ordinal)) return true;
        // "AssociationError [a] -> b: Error [Connection refused ...]" while a peer is down; other association errors (a
        // TLS handshake refused, say) are news and keep their level.
        return message.StartsWith("AssociationError ", StringComparison.Ordinal)
               && (message.Contains("Connection refused", StringComparison.Ordinal) || message.Contains("Disassociated", StringComparison.Ordinal));
    }

    /// <summary>Akka's or the host's (or any library's), not ours: ours have no source context or a SamCluster one.</summary>
    public static bool IsInfrastructure(LogEvent e) =>
        Text(e, Constants.SourceContextPropertyName) is { } context && !context.StartsWith("SamCluster.", StringComparison.Ordinal);

    /// <summary>The event at Debug when it is an expected one of Akka's (see the class), at Warning when it is an error
    /// about foreign traffic on the remoting port (<see cref="ForeignTraffic"/>), else the event itself.</summary>
    public static LogEvent Demoted(LogEvent e)
    {
        if (e.Level <= LogEventLevel.Debug || e.Level >= LogEventLevel.Fatal || !IsInfrastructure(e)) return e;
        var message = e.RenderMessage(CultureInfo.InvariantCulture);
        if (IsExpected(message)) return At(e, LogEventLevel.Debug);
        return e.Level > LogEventLevel.Warning && IsForeignTraffic(message) ? At(e, LogEventLevel.Warning) : e;
    }

    static LogEvent At(LogEvent e, LogEventLevel level) =>
        new(e.Timestamp, level, e.Exception, e.MessageTemplate, e.Properties.Select(p => new LogEventProperty(p.Key, p.Value)));

    /// <summary>A dead letter of Akka's own actors (/system/: cluster gossip and heartbeats, sharding, as sender or
    /// recipient) or a timer's tick that found its actor stopped: they come whenever a member stops or a peer has gone,
    /// and say nothing of our messages.</summary>
    static bool IsRoutineDeadLetter(string message) =>
        message.StartsWith("Message [", StringComparison.Ordinal) && message.Contains("dead letters encountered", StringComparison.Ordinal)
        && (message.Contains("/system/", StringComparison.Ordinal) || message.Contains("wrapped in [$ScheduledTellMsg]", StringComparison.Ordinal));

    /// <summary>Whether an event belongs on a console (see the class); <paramref name="oursFrom"/>: the level our own
    /// lines show from (the coordinator's console has its own summary lines and takes only warnings of its actors).</summary>
    public static bool Shown(LogEvent e, bool verbose, LogEventLevel oursFrom = LogEventLevel.Information) =>
        verbose || e.Level >= (IsInfrastructure(e) ? LogEventLevel.Warning : oursFrom);

    /// <summary>
    /// The logger Akka and the host write to: <paramref name="target"/> behind the demotion, with Microsoft.* (the host's
    /// "Application started", "Hosting environment", "Content root path") from Warning up. Akka.Logger.Serilog writes to
    /// Serilog's process-wide <see cref="Log.Logger"/>, which the hosts point at this.
    /// </summary>
    public static Logger For(ILogger target) =>
        new LoggerConfiguration().MinimumLevel.Verbose()
            .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
            .WriteTo.Sink(new DemotingSink(target))
            .CreateLogger();

    static string? Text(LogEvent e, string property) =>
        e.Properties.TryGetValue(property, out var value) && value is ScalarValue { Value: string s } ? s : null;

    sealed class DemotingSink(ILogger target) : ILogEventSink
    {
        public void Emit(LogEvent e) => target.Write(Demoted(e));
    }
}
