using Microsoft.Data.Sqlite;
using SamCluster.Messages;

namespace SamCluster.RunStore;

/// <summary>What the journal's failures mean. SQLite reports a full disk as SQLITE_FULL (its own code, not an
/// IOException), so <see cref="DiskFull"/> alone does not see it.</summary>
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
}
