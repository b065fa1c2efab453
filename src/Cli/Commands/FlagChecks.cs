using System.Net;
using System.Text.RegularExpressions;
using SamCluster.RunStore;
using SamCluster.Messages;

namespace SamCluster.Cli.Commands;

/// <summary>Range and syntax checks of the flags every command shares, applied before anything is created (a run
/// folder, a process, a socket), so a bad value is one line and exit 2.</summary>
public static partial class FlagChecks
{
    /// <summary>More threads than this per process only adds switching: torch's kernels scale to the core count.</summary>
    public static int MaxThreads => 4 * Environment.ProcessorCount;

    /// <summary>Each local node is a process holding libtorch and its own threads; beyond this one machine thrashes.</summary>
    public static int MaxLocalNodes => Math.Max(8, 4 * Environment.ProcessorCount);

    public const int MaxSlots = 16, MaxRetries = 100, MaxJoinTimeoutSeconds = 86_400;

    public static int Threads(int value, string flag = "--threads") => InRange(value, flag, 1, MaxThreads, $"4 x {Environment.ProcessorCount} cores");

    public static int Nodes(int value) => InRange(value, "--nodes", 1, MaxLocalNodes, null);

    public static int Slots(int value) => InRange(value, "--slots", 1, MaxSlots, null);

    public static int Pack(int value) => InRange(value, "--pack", 1, SamCluster.Experiment.Grid.GridConfig.MaxPack, null);

    public static int Retries(int value) => InRange(value, "--retries", 0, MaxRetries, null);

    public static int JoinTimeout(int value) => InRange(value, "--join-timeout", 1, MaxJoinTimeoutSeconds, "seconds");

    /// <param name="allowZero">0 means "any free port" for this flag.</param>
    public static int Port(int value, string flag, bool allowZero) =>
        InRange(value, flag, allowZero ? 0 : 1, 65535, allowZero ? "0: any free port" : null);

    static int InRange(int value, string flag, int min, int max, string? note)
    {
        if (value < min) throw new UserInputException($"{flag} must be at least {min}, got {value}");
        if (value > max) throw new UserInputException($"{flag} must be at most {max}{(note is null ? "" : $" ({note})")}, got {value}");
        return value;
    }

    /// <summary>An IP address or a DNS host name (RFC 1123 labels); "[::1]" is taken as the IPv6 address.</summary>
    public static string Host(string? value, string flag)
    {
        var text = value ?? "";
        if (text.Length == 0 || text.Trim().Length == 0) throw new UserInputException($"{flag} is empty");
        if (text.Length > 253) throw new UserInputException($"{flag} is {text.Length} characters long; a host name has at most 253");
        var bare = text.StartsWith('[') && text.EndsWith(']') ? text[1..^1] : text;
        if (IPAddress.TryParse(bare, out _)) return bare;
        // "999.1.1.1" matches the label syntax but is a mistyped address: a top-level domain is never all digits.
        if (HostName().IsMatch(text) && !text.TrimEnd('.').Split('.')[^1].All(char.IsAsciiDigit)) return text;
        throw new UserInputException($"{flag} '{ConsoleText.Escape(text)}' is not a host name or an IP address");
    }

    /// <summary>"HOST:PORT" (or "[IPv6]:PORT") with a valid host and a port of 1-65535.</summary>
    public static (string Host, int Port) HostAndPort(string value, string flag)
    {
        var colon = value.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(value[(colon + 1)..], out var port) || port is < 1 or > 65535)
            throw new UserInputException($"{flag} '{ConsoleText.Escape(value)}' is not HOST:PORT");
        var host = value[..colon];
        try
        {
            return (Host(host, flag), port);
        }
        catch (UserInputException)
        {
            throw new UserInputException($"{flag} '{ConsoleText.Escape(value)}' is not HOST:PORT ('{ConsoleText.Escape(host)}' is not a host name or an IP address)");
        }
    }

    /// <summary>A folder path to create or use: not empty, no control characters (they would reach logs and terminals).</summary>
    public static string Folder(string? value, string flag)
    {
        if (string.IsNullOrWhiteSpace(value)) throw new UserInputException($"{flag} must name a folder");
        if (value.Any(char.IsControl)) throw new UserInputException($"{flag} '{ConsoleText.Escape(value)}' holds a control character");
        return value;
    }

    /// <summary>The trials' journal on a PostgreSQL server: --journal, else $SAMCLUSTER_JOURNAL, else null (journal.db in
    /// the run folder). Only its syntax is checked here; the server is reached when the run starts, before anything is written.</summary>
    public static string? Journal(string? flag)
    {
        if (flag is not null) return PostgresJournal.CheckConnectionString(flag, "--journal");
        var environment = Environment.GetEnvironmentVariable(PostgresJournal.EnvironmentVariable);
        return string.IsNullOrEmpty(environment) ? null : PostgresJournal.CheckConnectionString(environment, "$" + PostgresJournal.EnvironmentVariable);
    }

    /// <summary>A name shown in logs and tables: 1-64 printable characters without commas or slashes.</summary>
    public static string Name(string value, string flag)
    {
        if (value.Length is 0 or > 64 || value.Any(c => char.IsControl(c) || c is ',' or '/' or '\\' or '"') || value.Trim() != value)
            throw new UserInputException($"{flag} '{ConsoleText.Escape(value)}' must be 1-64 printable characters without commas, quotes, slashes or outer spaces");
        return value;
    }

    [GeneratedRegex(@"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$")]
    private static partial Regex HostName();
}
