using System.CommandLine;
using SamCluster.Cli.Processes;
using SamCluster.Coordinator.Hosting;
using SamCluster.Coordinator.Serving;
using SamCluster.Hosting;
using SamCluster.Messages;

namespace SamCluster.Cli.Commands;

/// <summary>`samcluster serve DIR… --http PORT`: the live page and its JSON API, read-only, for every run under the
/// folders given, finished or running (<see cref="RunsServer"/>), until SIGTERM or Ctrl-C.</summary>
public static class ServeCommand
{
    public static Command Create()
    {
        var folders = new Argument<string[]>("dir")
        {
            Description = "Run folders, or folders with run folders anywhere below them.",
            Arity = ArgumentArity.OneOrMore,
        };
        var http = new Option<int>("--http") { Description = "Port of the page and its API (0: any free port); the URL is printed.", DefaultValueFactory = _ => 8080 };
        var httpHost = new Option<string>("--http-host") { Description = "Address to listen on (127.0.0.1: this machine only; 0.0.0.0: every interface).", DefaultValueFactory = _ => "127.0.0.1" };
        var command = new Command("serve", "Show runs, finished or running, on the live page and its JSON API (read-only): an index of every run under the folders given, and each run's page at /runs/NAME/.")
        {
            folders, http, httpHost,
        };
        command.SetAction((parse, _) =>
        {
            using var signal = new ShutdownSignal();
            return Task.FromResult(Program.Run(() =>
            {
                var port = FlagChecks.Port(parse.GetValue(http), "--http", allowZero: true);
                var host = FlagChecks.Host(parse.GetValue(httpHost), "--http-host");
                var dirs = parse.GetValue(folders)!.Select(d => FlagChecks.Folder(d, "DIR")).ToList();
                RunIndex.FindAll(dirs);   // a folder missing or without a run is one line, before anything listens
                if (port > 0) CoordinatorRun.EnsurePortFree(host, port, "--http", "--http-host");
                var address = HostAddress.Resolve(host, "--http-host", signal.Token);
                return Serve(dirs, address, port, signal.Token);
            }));
        });
        return command;
    }

    /// <summary>Kestrel's bind failure: an IOException around its AddressInUseException around the socket's error.</summary>
    static bool AddressInUse(Exception e)
    {
        for (Exception? inner = e; inner is not null; inner = inner.InnerException)
            if (inner is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.AddressAlreadyInUse }
                || inner.GetType().Name == "AddressInUseException")
                return true;
        return false;
    }

    static int Serve(IReadOnlyList<string> dirs, System.Net.IPAddress address, int port, CancellationToken stop)
    {
        RunsServer server;
        try
        {
            server = RunsServer.StartAsync(dirs, address, port, Serilog.Core.Logger.None, stop).GetAwaiter().GetResult();
        }
        catch (IOException e) when (AddressInUse(e))
        {
            // Taken between the check and the bind.
            throw new UserInputException($"port {port} on {address} is already in use; choose another --http");
        }
        try
        {
            Console.Out.WriteLine(ConsoleText.Escape($"Serving {server.Runs.Count} run(s) at {server.Url} (Ctrl-C to stop)"));
            Console.Out.Flush();
            try { Task.Delay(Timeout.Infinite, stop).Wait(stop); }
            catch (OperationCanceledException) { }
        }
        finally
        {
            server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        return Program.Ok;
    }
}
