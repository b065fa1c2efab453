using System.CommandLine;
using SamCluster.Cli.Composition;
using SamCluster.Coordinator.Hosting;
using SamCluster.Cli.Processes;
using SamCluster.Hosting;
using SamCluster.Messages;

namespace SamCluster.Cli.Commands;

/// <summary>`samcluster coordinator GRID.yaml --out DIR --port P [--host H]`: the cluster's seed node; runs the grid
/// with whatever nodes join, writes the outputs, prints the table, exits 0 (unless --stay).</summary>
public static class CoordinatorCommand
{
    public static Command Create()
    {
        var grid = new Argument<string>("grid") { Description = "The grid file (YAML)." };
        var options = new ClusterOptionsSet();
        var port = new Option<int>("--port") { Description = "TCP port nodes join (the seed node's port).", Required = true };
        // The coordinator reads the grid's data when this host has it (a check before the run): a build without bundled
        // libtorch needs one here too.
        var libtorch = LibTorchFlag.Create();
        var command = new Command("coordinator", "Run the coordinator of a grid; GPU nodes join it with `samcluster node --coordinator HOST:PORT`.")
        {
            grid, port, libtorch,
        };
        options.AddTo(command);
        var tls = new RemotingTlsOptions();
        tls.AddTo(command);
        command.SetAction((parse, _) =>
        {
            using var signal = new ShutdownSignal();
            return Task.FromResult(Program.Run(() =>
            {
                var request = options.Request(parse, parse.GetValue(grid)!, FlagChecks.Port(parse.GetValue(port), "--port", allowZero: false), checkLocalData: false)
                    with { Tls = tls.Open(parse) };
                LibTorchFlag.Initialize(parse, libtorch);
                return ExitCode(CoordinatorRun.RunAsync(request, TrainingServices.ForCoordinator(), startNodes: null, signal.Token).GetAwaiter().GetResult());
            }));
        });
        return command;
    }

    /// <summary>The CLI's exit code for a run that ended without an error: 0 finished, 1 interrupted.</summary>
    public static int ExitCode(RunEnd end) => end == RunEnd.Finished ? Program.Ok : Program.Failure;
}

/// <summary>Options shared by `coordinator` and `local`.</summary>
public sealed class ClusterOptionsSet
{
    public readonly Option<string> Out = new("--out") { Description = "Run folder for every output (created; a folder holding this grid's run is resumed).", Required = true, HelpName = "run-dir" };
    public readonly Option<string> Host = new("--host") { Description = "Address remoting listens on.", DefaultValueFactory = _ => "127.0.0.1" };
    public readonly Option<string?> PublicHost = new("--public-host") { Description = "Host name other machines use to reach this one (default: --host)." };
    public readonly Option<bool> Stay = new("--stay") { Description = "Keep the coordinator running after the grid is done." };
    public readonly Option<int> Retries = new("--retries") { Description = "Retries of a failed trial, with the same seed.", DefaultValueFactory = _ => 1 };
    public readonly Option<string?> CheckpointDir = new("--checkpoint-dir") { Description = "Checkpoint store every node can reach, e.g. a shared filesystem (default: RUN-DIR/checkpoints).", HelpName = "dir" };
    public readonly Option<int?> Http = new("--http") { HelpName = "port", Description = "Serve the live page and its JSON API on this port (0: any free port); the URL is printed." };
    public readonly Option<string> HttpHost = new("--http-host") { Description = "Address the live page listens on (127.0.0.1: this machine only).", DefaultValueFactory = _ => "127.0.0.1" };
    public readonly HealthOptions Health = new();
    public const string JournalFlag = "--journal";
    public readonly Option<string?> Journal = new(JournalFlag) { Description = "The trials' journal in PostgreSQL: an Npgsql connection string (Host=H;Port=P;Database=D;Username=U; default $SAMCLUSTER_JOURNAL, else RUN-DIR/journal.db)." };
    public readonly Option<bool> Verbose = VerboseOption();

    /// <summary>--verbose, of `local`, `coordinator` and `node`.</summary>
    public static Option<bool> VerboseOption() =>
        new("--verbose") { Description = "Akka's own detail (Information and Debug) on the console and in the logs." };

    public void AddTo(Command command)
    {
        command.Options.Add(Out);
        command.Options.Add(Host);
        command.Options.Add(PublicHost);
        command.Options.Add(Stay);
        command.Options.Add(Retries);
        command.Options.Add(CheckpointDir);
        command.Options.Add(Http);
        command.Options.Add(HttpHost);
        command.Options.Add(Journal);
        Health.AddTo(command);
        command.Options.Add(Verbose);
    }

    public CoordinatorRequest Request(ParseResult parse, string grid, int port, bool checkLocalData)
    {
        var retries = FlagChecks.Retries(parse.GetValue(Retries));
        var host = FlagChecks.Host(parse.GetValue(Host), "--host");
        var publicHost = parse.GetValue(PublicHost) is { } given ? FlagChecks.Host(given, "--public-host") : null;
        var checkpointDir = parse.GetValue(CheckpointDir) is { } store ? FlagChecks.Folder(store, "--checkpoint-dir") : null;
        var http = parse.GetValue(Http) is { } httpPort ? FlagChecks.Port(httpPort, "--http", allowZero: true) : (int?)null;
        var httpHost = FlagChecks.Host(parse.GetValue(HttpHost), "--http-host");
        if (http is null && parse.GetResult(HttpHost) is { Implicit: false })
            throw new UserInputException("--http-host needs --http PORT");
        return new CoordinatorRequest(grid, FlagChecks.Folder(parse.GetValue(Out), "--out"), host, port, publicHost,
            parse.GetValue(Stay), retries, checkLocalData, CheckpointDir: checkpointDir, Journal: FlagChecks.Journal(parse.GetValue(Journal)),
            HttpPort: http, HttpHost: httpHost, Verbose: parse.GetValue(Verbose), Health: Health.Endpoint(parse));
    }
}

/// <summary>--health-port / --health-host of `coordinator`, `local` (its coordinator) and `node`.</summary>
public sealed class HealthOptions
{
    public readonly Option<int?> Port = new("--health-port") { Description = "Serve GET /health/ready and /health/alive on this port, for orchestrators' probes." };
    public readonly Option<string> Host = new("--health-host") { Description = "Address the health endpoints listen on.", DefaultValueFactory = _ => "127.0.0.1" };

    public void AddTo(Command command)
    {
        command.Options.Add(Port);
        command.Options.Add(Host);
    }

    /// <summary>The endpoint asked for, checked (null: none); a port in use is refused here, before anything starts.</summary>
    public HealthEndpoint? Endpoint(ParseResult parse)
    {
        var host = FlagChecks.Host(parse.GetValue(Host), "--health-host");
        if (parse.GetValue(Port) is not { } port)
            return parse.GetResult(Host) is { Implicit: false } ? throw new UserInputException("--health-host needs --health-port PORT") : null;
        var endpoint = new HealthEndpoint(host, FlagChecks.Port(port, "--health-port", allowZero: false));
        CoordinatorRun.EnsurePortFree(endpoint.Host, endpoint.Port, "--health-port", "--health-host");
        return endpoint;
    }
}
