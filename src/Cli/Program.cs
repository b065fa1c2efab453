using System.CommandLine;
using System.Text.RegularExpressions;
using SamCluster.Cli.Commands;
using SamCluster.Messages;

namespace SamCluster.Cli;

public static class Program
{
    /// <summary>Exit codes of the CLI contract: 0 ok, 1 other failure, 2 bad input.</summary>
    public const int Ok = 0, Failure = 1, BadInput = 2;

    /// <summary>The command line of the invocation running in this flow as it may be recorded (secrets masked: see
    /// <see cref="SecretOptions"/>), for run.json and the error log; an AsyncLocal, as <see cref="ConsoleRouting"/>'s
    /// writers are, so that in-process invocations each record their own.</summary>
    static readonly AsyncLocal<IReadOnlyList<string>?> RecordedArgs = new();

    public static int Main(string[] args) => Invoke(args);

    /// <summary>The whole program on <paramref name="args"/>, as <see cref="Main"/> runs it, in this process: what it
    /// prints goes to <paramref name="stdout"/> and <paramref name="stderr"/> (<see cref="ConsoleRouting"/>); returns the
    /// exit code.</summary>
    public static int Invoke(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        using (ConsoleRouting.To(stdout, stderr))
            return Invoke(args);
    }

    /// <summary>This invocation's command line as run.json and the error log record it: "samcluster", then the parsed
    /// arguments with every secret option's value masked.</summary>
    public static IReadOnlyList<string> RecordedCommandLine => RecordedArgs.Value ?? ["samcluster"];

    /// <summary>What <see cref="RecordedCommandLine"/> would be for <paramref name="args"/>.</summary>
    public static IReadOnlyList<string> CommandLineForRecord(IReadOnlyList<string> args) => SecretOptions.Record(Root().Parse(args));

    /// <summary>Every command of the program, as <see cref="Main"/> parses them (the help-text test reads them too).</summary>
    public static RootCommand Root()
    {
        var root = new RootCommand("SamCluster: run a SAM-vs-SGD experiment grid on a cluster of GPU nodes.");
        foreach (var command in Commands())
            root.Subcommands.Add(command);
        return root;
    }

    static int Invoke(IReadOnlyList<string> args)
    {
        var outer = RecordedArgs.Value;
        try
        {
            var root = Root();
            var parse = root.Parse(args);
            if (parse.Errors.Count > 0)
            {
                Say(SecretOptions.MaskIn(parse, ParseErrorLine(root, parse, args)));
                return BadInput;
            }
            RecordedArgs.Value = SecretOptions.Record(parse);
            // Commands handle SIGINT/SIGTERM themselves (ShutdownSignal: clean cluster leave, child processes stopped) and
            // map exceptions in Run; System.CommandLine's own handlers would race them and print traces.
            return Run(() => parse.Invoke(new InvocationConfiguration { ProcessTerminationTimeout = null, EnableDefaultExceptionHandler = false }));
        }
        finally
        {
            RecordedArgs.Value = outer;
        }
    }

    /// <summary>System.CommandLine's first parse error as one plain line, with the help to read.</summary>
    static string ParseErrorLine(RootCommand root, ParseResult parse, IReadOnlyList<string> args)
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
        RunsCommand.Create(),
        ServeCommand.Create(),
        TrainOneCommand.Create(),
        BenchCommand.Create(),
        DevicesCommand.Create(),
        DesignCommand.Create(),
    ];

    /// <summary>Runs a command body, turning user errors into one line and exit code 2, and everything else into one
    /// line and exit code 1: a run that could not go on (a full disk) says what to do; an internal error names the
    /// exception and where its trace was written (the run folder's logs/run.clef, else <see cref="ErrorLog"/>).</summary>
    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (UserInputException e)
        {
            Say(e.Message);
            return BadInput;
        }
        catch (RunFailedException e)
        {
            Say(e.Message);
            return Failure;
        }
        catch (OperationCanceledException)
        {
            Say("cancelled");
            return Failure;
        }
        catch (Exception e) when (DiskFull.Find(e) is { } full)
        {
            var problem = full is DiskFullException known ? known.Describe() : $"no space left on device ({TraceLoggedException.FirstLine(full.Message)})";
            Say($"{problem}; free some space and run the same command again");
            return Failure;
        }
        catch (Exception e)
        {
            // Not the user's fault: the trace is what a bug report needs, so it is kept — in a file, not on the console.
            if (e is TraceLoggedException logged)
            {
                Say($"internal error: {TraceLoggedException.Summary(logged.InnerException!)} (trace in {logged.LogPath})");
                return Failure;
            }
            // Nowhere to keep the trace is said in the same one line: a trace on the console is no place for it either.
            Say(ErrorLog.Append(e, RecordedCommandLine, out var problem) is { } path
                ? $"internal error: {TraceLoggedException.Summary(e)} (trace in {path})"
                : $"internal error: {TraceLoggedException.Summary(e)} (no trace kept: {problem})");
            return Failure;
        }
    }

    /// <summary>The one way a problem reaches the console: one line on stderr, "samcluster: " and the message with its
    /// control characters made visible (a path or name may hold ESC, BEL, a newline).</summary>
    static void Say(string message) => Console.Error.WriteLine($"samcluster: {ConsoleText.Escape(message)}");
}
