using System.CommandLine;
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
            // Some System.CommandLine messages span lines (AcceptOnlyFromAmong lists one choice per line): keep to one.
            var message = string.Join(' ', parse.Errors[0].Message.Split(['\r', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            Console.Error.WriteLine($"samcluster: {message} (see 'samcluster {string.Join(' ', args.Take(1))} --help')");
            return BadInput;
        }
        return Run(() => parse.Invoke());
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
            Console.Error.WriteLine($"samcluster: {e.Message}");
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
