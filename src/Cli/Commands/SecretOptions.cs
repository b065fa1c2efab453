using System.CommandLine;
using System.CommandLine.Parsing;
using SamCluster.RunStore;

namespace SamCluster.Cli.Commands;

/// <summary>
/// The one place that says which options carry a secret, and how each one's value is masked wherever the command line
/// is recorded (run.json, report.md's provenance, the error log) or echoed (a parse error's line). The values are found
/// by the parse — the tokens System.CommandLine took as that option's value — so every form the parser accepts
/// (<c>--flag VALUE</c>, <c>--flag=VALUE</c>, <c>--flag:VALUE</c>, a response file) is masked, not just the forms a
/// pattern over the text foresaw.
/// </summary>
public static class SecretOptions
{
    public const string Masked = "***";

    /// <summary>Option name → its value as it may be recorded.</summary>
    static readonly Dictionary<string, Func<string, string>> Masks = new(StringComparer.Ordinal)
    {
        [RemotingTlsOptions.PasswordFlag] = _ => Masked,
        // A connection string: only its passwords are secret, and Npgsql's own parser finds them (every alias, every quoting).
        [ClusterOptionsSet.JournalFlag] = PostgresJournal.MaskPasswords,
    };

    /// <summary>The parsed command line (the program's name first), each secret option's value masked.</summary>
    public static IReadOnlyList<string> Record(ParseResult parse)
    {
        var masks = SecretTokens(parse);
        var recorded = new List<string> { "samcluster" };
        foreach (var token in parse.Tokens)
        {
            if (ReferenceEquals(token, parse.RootCommandResult.IdentifierToken)) continue; // the program's name, said above
            recorded.Add(masks.TryGetValue(token, out var mask) ? mask(token.Value) : MaskUnmatched(token.Value));
        }
        return recorded;
    }

    /// <summary>A parse error's message with every secret value the parse found masked; a token the parse could not
    /// place (a secret flag on a command that has none) is masked by its flag's name.</summary>
    public static string MaskIn(ParseResult parse, string message)
    {
        foreach (var (token, mask) in SecretTokens(parse))
            if (token.Value.Length > 0) message = message.Replace(token.Value, mask(token.Value), StringComparison.Ordinal);
        foreach (var unmatched in parse.UnmatchedTokens)
            message = message.Replace(unmatched, MaskUnmatched(unmatched), StringComparison.Ordinal);
        return message;
    }

    /// <summary>Every token the parse took as a secret option's value, with its mask (by reference: the same text may
    /// also be an innocent token elsewhere on the line).</summary>
    static Dictionary<Token, Func<string, string>> SecretTokens(ParseResult parse)
    {
        var found = new Dictionary<Token, Func<string, string>>(ReferenceEqualityComparer.Instance);
        for (SymbolResult? command = parse.CommandResult; command is not null; command = command.Parent)
            foreach (var option in command is CommandResult c ? c.Children.OfType<OptionResult>() : [])
                if (Masks.TryGetValue(option.Option.Name, out var mask))
                    foreach (var token in option.Tokens)
                        found[token] = mask;
        return found;
    }

    /// <summary>An argument the parser did not take as a secret option's value but that names one with its value
    /// attached (<c>--tls-password:VALUE</c> given to a command without that flag): masked all the same.</summary>
    internal static string MaskUnmatched(string token)
    {
        foreach (var (name, mask) in Masks)
            if (token.Length > name.Length && token.StartsWith(name, StringComparison.Ordinal) && token[name.Length] is ':' or '=')
                return token[..(name.Length + 1)] + mask(token[(name.Length + 1)..]);
        return token;
    }
}
