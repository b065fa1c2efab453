using System.CommandLine;
using System.Text.RegularExpressions;
using SamCluster.Cli.Commands;
using SamCluster.Messages;

namespace SamCluster.Cli;

public static class Program
{
    /// <summary>Exit codes of the CLI contract: 0 ok, 1 other failure, 2 bad input.</summary>
    public const int Ok = 0, Failure = 1, BadInput = 2;

    public static int Main(string[] args)
    {
        var root = new RootCommand("SamCluster: run a SAM-vs-SGD experiment grid on a cluster of GPU nodes.");
        foreach (var command in Commands())
            root.Subcommands.Add(command);

        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            Console.Error.WriteLine($"samcluster: {ConsoleText.Escape(ParseErrorLine(root, parse, args))}");
            return BadInput;
        }
        // Commands handle SIGINT/SIGTERM themselves (ShutdownSignal: clean cluster leave, child processes stopped) and
        // map exceptions in Run; System.CommandLine's own handlers would race them and print traces.
        return Run(() => parse.Invoke(new InvocationConfiguration { ProcessTerminationTimeout = null, EnableDefaultExceptionHandler = false }));
    }

    /// <summary>System.CommandLine's first parse error as one plain line, with the help to read.</summary>
    static string ParseErrorLine(RootCommand root, ParseResult parse, string[] args)
    {
        var commandName = args.FirstOrDefault();
        if (commandName is not null && !commandName.StartsWith('-') && root.Subcommands.All(c => c.Name != commandName))
            return $"unknown command '{commandName}' (commands: {string.Join(", ", root.Subcommands.Select(c => c.Name))})";
        // Some messages span lines (AcceptOnlyFromAmong lists one choice per line) or name .NET types: keep to one plain line.
        var message = string.Join(' ', parse.Errors[0].Message.Split(['\r', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        message = Regex.Replace(message, @"as expected type 'System\.(?:Nullable`1\[System\.)?(\w+)\]?'",
            m => m.Groups[1].Value is "Double" or "Single" ? "(expected a number)" : "(expected a whole number)");
        var help = commandName is null || commandName.StartsWith('-') ? "samcluster --help" : $"samcluster {commandName} --help";
        return $"{message} (see '{help}')";
    }

    static IEnumerable<Command> Commands() =>
    [
        LocalCommand.Create(),
        CoordinatorCommand.Create(),
        NodeCommand.Create(),
        ValidateCommand.Create(),
        TailCommand.Create(),
        ReportCommand.Create(),
        TrainOneCommand.Create(),
        BenchCommand.Create(),
    ];

    /// <summary>Runs a command body, turning user errors into one line and exit code 2.</summary>
    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (UserInputException e)
        {
            Console.Error.WriteLine($"samcluster: {ConsoleText.Escape(e.Message)}");
            return BadInput;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("samcluster: cancelled");
            return Failure;
        }
        catch (Exception e)
        {
            // Not the user's fault: keep the whole trace, it is what a bug report needs.
            Console.Error.WriteLine($"samcluster: internal error: {e}");
            return Failure;
        }
    }
}
