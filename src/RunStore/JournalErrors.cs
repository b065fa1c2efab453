using System.Net.Sockets;
using Microsoft.Data.Sqlite;
using Npgsql;
using SamCluster.Messages;

namespace SamCluster.RunStore;

/// <summary>What the journal's failures mean. SQLite reports a full disk as SQLITE_FULL (its own code, not an
/// IOException), so <see cref="DiskFull"/> alone does not see it. A journal server that cannot be reached (refused,
/// silent, shut down) is told apart from a journal that cannot be read: the first leaves the run intact and the same
/// command works once the server is back; only the second needs a backup.</summary>
public static class JournalErrors
{
    const int SqliteFull = 13;

    /// <summary>True for a full disk, whether SQLite's (SQLITE_FULL) or the filesystem's (ENOSPC, EDQUOT).</summary>
    public static bool IsDiskFull(Exception e)
    {
        if (DiskFull.Is(e)) return true;
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            if (x is SqliteException { SqliteErrorCode: SqliteFull }) return true;
            if (x is AggregateException aggregate) return aggregate.InnerExceptions.Any(IsDiskFull);
        }
        return false;
    }

    /// <summary>The transport failure that made <paramref name="e"/>, if it is one: a connection refused, reset or timed
    /// out, a server that shuts down or is starting (SQLSTATE 57P01-57P03, class 08), too many connections (53300) —
    /// never an error the server gave about the journal's contents or rights.</summary>
    public static Exception? Unreachable(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            switch (x)
            {
                case AggregateException aggregate:
                    return aggregate.InnerExceptions.Select(Unreachable).FirstOrDefault(u => u is not null);
                case PostgresException pg:
                    return pg.SqlState.StartsWith("08", StringComparison.Ordinal) || pg.SqlState.StartsWith("57P", StringComparison.Ordinal)
                           || pg.SqlState == "53300" ? pg : null;
                case NpgsqlException npgsql:
                    // Npgsql calls I/O and timeouts transient; what lies beneath (the socket's error) says which.
                    return npgsql.IsTransient ? Innermost(npgsql) : null;
            }
        }
        return null;
    }

    static Exception Innermost(Exception e)
    {
        while (e.InnerException is { } inner) e = inner;
        return e;
    }

    /// <summary>The line for a journal server that cannot be reached: exit 1, since nothing is wrong with the run.</summary>
    public static string UnreachableLine(string address, Exception transport) =>
        $"cannot reach the journal at {address} ({Reason(transport)}); the run is intact: run the same command when it is back";

    /// <summary>The failure as a short phrase: the server's own message, else the socket's or the timeout's.</summary>
    static string Reason(Exception e)
    {
        if (e is PostgresException pg) return $"{pg.MessageText}, SQLSTATE {pg.SqlState}";
        if (e is SocketException socket) return socket.SocketErrorCode switch
        {
            SocketError.ConnectionRefused => "connection refused",
            SocketError.TimedOut => "timed out",
            SocketError.HostNotFound or SocketError.NoData => "host not found",
            SocketError.HostUnreachable or SocketError.NetworkUnreachable => "no route to the host",
            SocketError.ConnectionReset => "connection reset",
            _ => FirstLine(socket.Message),
        };
        if (e is TimeoutException) return "no answer within the timeout";
        if (e is EndOfStreamException) return "the server closed the connection";
        return FirstLine(e.Message);
    }

    static string FirstLine(string text) => text.Split('\n')[0].Trim().TrimEnd('.');
}
