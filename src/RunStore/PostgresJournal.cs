using System.Data.Common;
using Npgsql;
using SamCluster.Messages;

namespace SamCluster.RunStore;

/// <summary>
/// A run's journal on a PostgreSQL server (`--journal CONNECTION` or $SAMCLUSTER_JOURNAL), in place of the run folder's
/// journal.db. One database holds one run: beside Akka.Persistence.Sql's tables, the table samcluster_run holds the
/// run's manifest (its id and trials, as run.json does), so a coordinator with another grid is refused instead of
/// mixing trials, and a coordinator with a fresh --out, on any host, knows which run it continues. Opening connects
/// and takes the journal's lock: one coordinator per journal, as one per run folder, held by that connection until it
/// is disposed or the process ends (the server ends the session when its client goes).
/// </summary>
public sealed class PostgresJournal : IDisposable
{
    public const string EnvironmentVariable = "SAMCLUSTER_JOURNAL";

    /// <summary>The pg_advisory_lock key a coordinator holds for its journal's database ("SAMC").</summary>
    const int LockKey = 0x53414D43;

    const string RunTable = "samcluster_run";

    /// <summary>Akka.Persistence.Sql's event table (its default table mapping).</summary>
    const string EventTable = "journal";

    readonly NpgsqlConnection _session;

    /// <summary>The connection string as given, for Akka.Persistence.Sql.</summary>
    public string ConnectionString { get; }

    /// <summary>Where the journal is, for messages and run.json: postgresql://[user@]host:port/database, never the password.</summary>
    public string Name { get; }

    PostgresJournal(string connectionString, string name, NpgsqlConnection session)
    {
        ConnectionString = connectionString;
        Name = name;
        _session = session;
    }

    public void Dispose() => _session.Dispose();

    /// <summary>Checks that <paramref name="text"/> is an Npgsql connection string naming a host and a database, without
    /// connecting; returns it. The text is never echoed, as it may hold a password.</summary>
    /// <param name="source">Where it came from, for the message: "--journal" or "$SAMCLUSTER_JOURNAL".</param>
    public static string CheckConnectionString(string text, string source)
    {
        Parse(text, source);
        return text;
    }

    /// <summary><paramref name="text"/> with every password in it masked, as Npgsql itself reads it: every password
    /// keyword it knows (Password, SSL Password) under any alias (PSW, PWD, any case) and any quoting; the other
    /// keywords in Npgsql's own spelling. Text Npgsql cannot read is masked whole: where a secret sits in it is unknown.</summary>
    public static string MaskPasswords(string text)
    {
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(text);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException or OverflowException)
        {
            return Masked;
        }
        foreach (var secret in SecretKeywords)
            if (secret.GetValue(builder) is string { Length: > 0 }) secret.SetValue(builder, Masked);
        return builder.ConnectionString;
    }

    const string Masked = "***";

    /// <summary>The builder's password properties: those Npgsql marks [PasswordPropertyText] (Password), and those it
    /// names so without marking them (SslPassword, the client key's), so that a keyword Npgsql adds is not missed.</summary>
    static readonly System.Reflection.PropertyInfo[] SecretKeywords = typeof(NpgsqlConnectionStringBuilder).GetProperties()
        .Where(p => p.PropertyType == typeof(string) && p.CanWrite
                    && (p.Name.EndsWith("Password", StringComparison.Ordinal)
                        || p.GetCustomAttributes(typeof(System.ComponentModel.PasswordPropertyTextAttribute), true)
                            is [System.ComponentModel.PasswordPropertyTextAttribute { Password: true }, ..]))
        .ToArray();

    static NpgsqlConnectionStringBuilder Parse(string text, string source)
    {
        const string expected = "Host=H;Port=P;Database=D;Username=U";
        if (string.IsNullOrWhiteSpace(text)) throw new UserInputException($"{source} is empty; expected a PostgreSQL connection string ({expected})");
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(text);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException or OverflowException)
        {
            // Npgsql says "Couldn't set hots (Parameter 'hots')", the cause inside: an unknown keyword, or a bad value.
            var problem = e is ArgumentException { ParamName: { } keyword } && e.Message.StartsWith("Couldn't set", StringComparison.Ordinal)
                ? e.InnerException is null or KeyNotFoundException
                    ? $"'{keyword}' is not one of its keywords"
                    : $"the value of '{keyword}' is not valid ({FirstLine(e.InnerException.Message)})"
                : FirstLine(e.Message);
            throw new UserInputException($"{source} is not a PostgreSQL connection string ({expected}): {problem}");
        }
        if (string.IsNullOrWhiteSpace(builder.Host))
            throw new UserInputException($"{source} names no Host; expected a PostgreSQL connection string ({expected})");
        if (string.IsNullOrWhiteSpace(builder.Database))
            throw new UserInputException($"{source} names no Database (one database per run); expected {expected}");
        if (builder.Port is < 1 or > 65535)
            throw new UserInputException($"{source}: Port {builder.Port} is not a TCP port (1-65535)");
        return builder;
    }

    /// <summary>Connects and takes the journal's lock; refuses (UserInputException, nothing written anywhere) a malformed
    /// connection string, a server that cannot be reached or refuses the login, and a journal another coordinator holds.</summary>
    public static PostgresJournal Open(string connectionString)
    {
        var builder = Parse(connectionString, "--journal");
        var user = string.IsNullOrEmpty(builder.Username) ? "" : builder.Username + "@";
        var name = $"postgresql://{user}{builder.Host}:{builder.Port}/{builder.Database}";
        // Our own session, unpooled: a pooled connection would keep the lock after Dispose, until reused.
        var session = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString)
        {
            Pooling = false,
            ApplicationName = Truncate($"samcluster coordinator on {Environment.MachineName} pid {Environment.ProcessId}", 63),
        }.ConnectionString);
        try
        {
            session.Open();
            using var lockIt = Command(session, "SELECT pg_try_advisory_lock(@key)", ("key", (long)LockKey));
            if (lockIt.ExecuteScalar() is not true)
                throw new UserInputException($"the journal {name} is in use by another coordinator ({Holder(session)}); one coordinator per journal — " +
                                             "stop that one first, or choose another database");
            return new PostgresJournal(connectionString, name, session);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException)
        {
            session.Dispose();
            throw new UserInputException($"cannot use the journal {name}: {Describe(e)}");
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>The session holding the lock, as the server shows it, and how to end it if its machine is gone.</summary>
    static string Holder(NpgsqlConnection session)
    {
        using var query = Command(session, """
            SELECT a.pid, a.application_name, host(a.client_addr), a.backend_start
            FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted AND l.classid::bigint = 0 AND l.objid::bigint = @key AND l.objsubid = 1
              AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
            """, ("key", (long)LockKey));
        using var row = query.ExecuteReader();
        if (!row.Read()) return "its session just ended; try again";
        var who = row.IsDBNull(1) || row.GetString(1).Length == 0 ? "a client" : row.GetString(1);
        var from = row.IsDBNull(2) ? "" : $" from {row.GetString(2)}";
        var since = row.IsDBNull(3) ? "" : $" since {row.GetFieldValue<DateTime>(3).ToUniversalTime():yyyy-MM-dd HH:mm:ss} UTC";
        return $"{who}{from}{since}; if its machine is gone, end its session: SELECT pg_terminate_backend({row.GetInt32(0)})";
    }

    /// <summary>The run manifest this database holds (JSON, as run.json), or null when it holds none yet.</summary>
    public string? ReadRunManifest()
    {
        if (!TableExists(RunTable)) return null;
        using var query = Command(_session, $"SELECT manifest FROM {RunTable} WHERE id = 1");
        return query.ExecuteScalar() as string;
    }

    /// <summary>Records (or replaces) the run this database holds, in one statement.</summary>
    public void WriteRunManifest(string json)
    {
        using var write = Command(_session, $"""
            CREATE TABLE IF NOT EXISTS {RunTable} (
              id smallint PRIMARY KEY CHECK (id = 1), -- one run per database
              manifest text NOT NULL,
              written timestamptz NOT NULL);
            INSERT INTO {RunTable} (id, manifest, written) VALUES (1, @manifest, now())
              ON CONFLICT (id) DO UPDATE SET manifest = excluded.manifest, written = excluded.written;
            """, ("manifest", json));
        write.ExecuteNonQuery();
    }

    /// <summary>Rows in the event table; 0 when it does not exist yet.</summary>
    public long Events()
    {
        if (!TableExists(EventTable)) return 0;
        using var query = Command(_session, $"SELECT count(*) FROM {EventTable}");
        return (long)query.ExecuteScalar()!;
    }

    /// <summary>The first event our serializer cannot read back, described; null when all read (or none yet).</summary>
    public string? UnreadableEvent() => TableExists(EventTable) ? JournalReplay.FirstUnreadable(_session) : null;

    bool TableExists(string table)
    {
        using var query = Command(_session, "SELECT to_regclass(@table) IS NOT NULL", ("table", table));
        return query.ExecuteScalar() is true;
    }

    static NpgsqlCommand Command(NpgsqlConnection session, string sql, params (string Name, object Value)[] parameters)
    {
        var command = new NpgsqlCommand(sql, session);
        foreach (var (parameter, value) in parameters) command.Parameters.AddWithValue(parameter, value);
        return command;
    }

    /// <summary>The error as one line: the server's own message (auth failed, no such database), else the socket's.</summary>
    static string Describe(Exception e)
    {
        if (e is PostgresException pg) return $"{pg.MessageText} (SQLSTATE {pg.SqlState})";
        var parts = new List<string>();
        for (var x = e; x is not null; x = x.InnerException)
            if (!parts.Contains(FirstLine(x.Message))) parts.Add(FirstLine(x.Message));
        return string.Join(": ", parts);
    }

    static string FirstLine(string text) => text.Split('\n')[0].Trim();

    static string Truncate(string text, int length) => text.Length <= length ? text : text[..length];
}

/// <summary>Reads back every event of a journal (SQLite or PostgreSQL: Akka.Persistence.Sql's same "journal" table) with
/// our serializer, so that an event it cannot read is refused up front, not failed on every recovery of its trial.</summary>
public static class JournalReplay
{
    /// <summary>The first unreadable event, described; null when all read. The journal table must exist.</summary>
    public static string? FirstUnreadable(DbConnection db)
    {
        using var query = db.CreateCommand();
        query.CommandText = "SELECT persistence_id, sequence_number, manifest, message FROM journal WHERE identifier = @id ORDER BY ordering";
        var id = query.CreateParameter();
        id.ParameterName = "@id";
        id.Value = WireFormat.SerializerId;
        query.Parameters.Add(id);
        using var rows = query.ExecuteReader();
        while (rows.Read())
        {
            var persistenceId = rows.GetString(0);
            var trial = persistenceId.StartsWith("trial-", StringComparison.Ordinal) ? persistenceId["trial-".Length..] : persistenceId;
            try
            {
                WireFormat.Decode((byte[])rows["message"], rows.IsDBNull(2) ? "" : rows.GetString(2));
            }
            catch (Exception e) when (e is System.Runtime.Serialization.SerializationException or System.Text.Json.JsonException
                                          or NotSupportedException or ArgumentException)
            {
                return $"event {rows.GetInt64(1)} of trial {trial} is unreadable ({e.Message.Split('\n')[0]})";
            }
        }
        return null;
    }
}
