using System.Net;
using System.Net.Sockets;
using SamCluster.Coordinator.Actors;
using SamCluster.Coordinator.Lifecycle;
using SamCluster.Coordinator.LiveView;
using SamCluster.Coordinator.Logging;
using SamCluster.Coordinator.Observers;
using SamCluster.Experiment;
using SamCluster.Experiment.Grid;
using SamCluster.Hosting;
using SamCluster.Messages;
using SamCluster.Reporting;
using SamCluster.RunStore;

namespace SamCluster.Coordinator.Hosting;

/// <summary>What `coordinator` and `local` ask of a coordinator run.</summary>
public sealed record CoordinatorRequest(
    string GridPath,
    string OutDir,
    string Host,
    int Port,
    string? PublicHost,
    bool Stay,
    int Retries,
    bool CheckLocalData,
    RemotingTls? Tls = null,
    string? CheckpointDir = null,
    string? Journal = null,
    int? HttpPort = null,
    string HttpHost = "127.0.0.1",
    bool Verbose = false,
    HealthEndpoint? Health = null);

/// <summary>How a coordinator run ended without an error: the grid finished (and the report is written), or Ctrl-C /
/// SIGTERM stopped it first (finished trials are in the journal).</summary>
public enum RunEnd { Finished, Interrupted }

/// <summary>
/// Runs a coordinator from a grid file to the printed report: validates everything before starting, prepares (or
/// resumes) the run folder, starts the cluster's seed node, optionally starts local node processes, and waits for the
/// grid to finish.
/// </summary>
public static class CoordinatorRun
{
    /// <param name="startNodes">Given the coordinator's port, the run folder and where to report a full disk, starts node
    /// processes (for `local`); disposed at the end.</param>
    /// <exception cref="RunFailedException">The run could not go on (a full disk): its one line, already in logs/run.clef.</exception>
    /// <exception cref="TraceLoggedException">An internal error, its trace written to logs/run.clef.</exception>
    /// <param name="services">What the process needs of the training library (data check, TensorBoard, checkpoint store).</param>
    public static async Task<RunEnd> RunAsync(CoordinatorRequest request, CoordinatorServices services,
        Func<int, RunFolder, Action<Exception>, IDisposable>? startNodes, CancellationToken stop)
    {
        var grid = GridConfigLoader.Load(request.GridPath);
        if (request.CheckLocalData) grid.CheckLocalDataPaths();
        var requested = GridExpander.Expand(grid);
        // Everything that can refuse the start is checked before the run folder is touched (ports, the checkpoint
        // store, the journal, the data, the folder's lock), so a failed start — also on a finished run — leaves it as it was.
        var port = request.Port == 0 ? FreePort(request.Host) : request.Port;
        EnsurePortFree(request.Host, port);
        if (request.HttpPort is { } httpPort and > 0) EnsurePortFree(request.HttpHost, httpPort, "--http", "--http-host");
        // The live page's address is looked up now, also for --http 0, not once the run folder is in use.
        var httpAddress = request.HttpPort is null ? null : HostAddress.Resolve(request.HttpHost, "--http-host", stop);
        EnsureDistinctPorts(request, port);
        if (request.CheckpointDir is { } checkpointStore) UserPaths.CheckWritableFolder(checkpointStore, "--checkpoint-dir");
        // Read the data once, as the trials will, before anything is written, so bad data is one line and exit 2, not
        // every trial failing in turn. The nodes of `local` read it from here; a coordinator checks what this host can
        // see (a shared filesystem, typically) and leaves the rest to the nodes.
        var dataHere = requested.Select(t => t.Data).Where(d => request.CheckLocalData || Directory.Exists(d.Root)).ToList();
        // A journal on a server is reached and owned before the run folder is touched: an unreachable one is one line.
        using var serverJournal = request.Journal is { } journal ? PostgresJournal.Open(journal, stop) : null;
        using var folder = PrepareFolder(request, requested, () => services.CheckData(dataHere), serverJournal, services.Program, grid.Sequential);
        // A grid that grows a run keeps the trials it had under their ids: run what the folder says (in grid order; the
        // scheduler hands them out longest first).
        var trials = folder.Trials;

        // Every writer that meets a full disk — the log files, the observers' tables and weights, the journal, a node's
        // checkpoint — ends the run through the completion: the first reason wins and is reported once, below.
        var completion = new RunCompletion();
        using var log = new RunLog(folder, onDiskFull: completion.Fail, verbose: request.Verbose);
        if (folder.Resumed && folder.Added.Count > 0)
            log.Main.Information("The run grows: {Added} added to the {Kept} it had{Previous}",
                ConsoleText.Count(folder.Added.Count, "trial"), folder.Trials.Count - folder.Added.Count,
                folder.PreviousGrid is { } previous ? $" (the grid it ran until now is kept as {previous})" : "");
        foreach (var unseen in requested.Select(t => t.Data).Except(dataHere).Select(d => $"{d.Dataset} ({d.Root})").Distinct())
            log.Main.Information("Data of {Data} is not on this host: each node reads and checks it before training", unseen);
        var checkpointDir = Path.GetFullPath(request.CheckpointDir ?? folder.CheckpointsDir);
        try
        {
            return await RunAsync(request, services, folder, log, completion, grid.CheckpointEvery, grid.Pack, grid.Sequential, trials, port, httpAddress, checkpointDir, startNodes, stop);
        }
        catch (Exception e) when (e is not (UserInputException or OperationCanceledException) && DiskFull.Find(e) is { } full)
        {
            var line = (full is DiskFullException known ? known.Describe(folder.Root, checkpointDir) : $"no space left on device under {folder.Root} ({full.Message})")
                       + "; free some space and run the same command again to resume";
            log.RecordFailure(e, line);
            throw new RunFailedException(line, e);
        }
        catch (Exception e) when (e is not (UserInputException or RunFailedException or OperationCanceledException)
                                  && folder.ServerJournal is { } server && JournalErrors.Unreachable(e) is { } transport)
        {
            // The server went away mid-run (a trial's journal write or recovery failed on the connection): every event
            // written so far is in the journal, so the same command resumes once it is back — not a damaged journal.
            var line = JournalErrors.UnreachableLine(server.Address, transport);
            log.RecordFailure(e, line);
            throw new RunFailedException(line, e);
        }
        catch (Exception e) when (e is not (UserInputException or RunFailedException or OperationCanceledException))
        {
            if (log.RecordFailure(e, TraceLoggedException.Summary(e))) throw new TraceLoggedException(e, log.EventLogPath);
            throw;
        }
    }

    /// <summary><see cref="RunFolder.Prepare"/>, with a journal server that goes away during its checks said as such.</summary>
    static RunFolder PrepareFolder(CoordinatorRequest request, IReadOnlyList<TrialSpec> requested, Action checkData,
        PostgresJournal? serverJournal, ProgramFacts program, SequentialPlan? sequential)
    {
        try
        {
            return RunFolder.Prepare(request.OutDir, request.GridPath, requested, checkData, serverJournal, program, sequential);
        }
        catch (Exception e) when (e is not (UserInputException or RunFailedException or OperationCanceledException)
                                  && serverJournal is not null && JournalErrors.Unreachable(e) is { } transport)
        {
            throw new RunFailedException(JournalErrors.UnreachableLine(serverJournal.Address, transport), e);
        }
    }

    static async Task<RunEnd> RunAsync(CoordinatorRequest request, CoordinatorServices services, RunFolder folder, RunLog log, RunCompletion completion, int checkpointEvery, int pack, SequentialPlan? sequential,
        IReadOnlyList<TrialSpec> trials, int port, IPAddress? httpAddress, string checkpointDir, Func<int, RunFolder, Action<Exception>, IDisposable>? startNodes,
        CancellationToken stop)
    {
        var plan = new GridPlan(trials, SchedulerOptions.Default with { MaxRetries = request.Retries, Pack = pack }, LongestFirstOrder.Instance,
            checkpointEvery, checkpointDir, sequential);
        var store = services.OpenCheckpointStore(checkpointDir);
        var live = new LiveRun($"{Path.GetFileName(request.GridPath)} → {folder.Root}", folder.Trials, Path.Combine(folder.Root, RunReport.Json));
        IRunObserver[] observers = [new TrialLogWriter(log), new ResultTablesWriter(folder), new EpochsTableWriter(folder), new TensorBoardWriter(folder, services.OpenTensorBoard), new WeightsCollector(folder, store, log), new ProgressView(log), new ManifestNodes(folder), live];
        var role = new CoordinatorRoleOptions(plan, folder, TimeSpan.FromSeconds(5),
            board =>
            {
                var report = RunReport.WriteAll(folder.Root, ResultTables.ReportRows(board), new ReportOptions(Sequential: folder.Provenance?.Sequential), folder.Provenance);
                var table = MarkdownReport.Write(report);
                live.OnReportWritten();
                return table;
            }, observers);
        // The coordinator is the cluster's seed: itself, as the others reach it.
        var member = new ClusterMemberOptions(ClusterMember.CoordinatorRole, request.PublicHost ?? request.Host, port,
            request.Host, port, request.PublicHost, request.Tls, request.Verbose);
        await using var page = request.HttpPort is { } httpPort && httpAddress is not null
            ? await LiveViewServer.StartAsync(live, httpAddress, httpPort, folder.Root, folder.TrialLog, log.Infrastructure, stop)
            : null;
        if (page is not null) log.Main.Information("Live view: {Url}", page.Url);
        // The health endpoints follow the coordinator's actor system, also when it is started again.
        CoordinatorHost? running = null;
        await using var healthServer = request.Health is { } endpoint
            ? await ClusterHealth.StartAsync(endpoint, () => running?.System, log.Infrastructure, stop)
            : null;
        await using var coordinator = await CoordinatorHost.StartAsync(member, role, log, completion, stop);
        running = coordinator;
        log.Main.Information("Coordinator up at {Address} — {Trials} trials; run folder {Folder}", member.SeedAddress, trials.Count, folder.Root);
        if (request.Health is { } health) log.Main.Information("Health: {Url} (and {Alive})", health.ReadyUrl, ClusterHealth.AlivePath);
        using var nodes = startNodes?.Invoke(port, folder, completion.Fail);
        try
        {
            var finished = await coordinator.RunToCompletionAsync(stop);
            log.Main.Information("Report written to {Folder} (report.md, report.json, report.csv, curves/)", folder.Root);
            Console.Out.WriteLine();
            Console.Out.WriteLine(finished.Table);
            log.Main.Information("Grid finished: {Completed} completed, {Failed} failed ({Recovered} read back from the journal). Outputs in {Folder}",
                finished.Completed, finished.Failed, finished.Recovered, folder.Root);
            if (finished.Completed == 0 && finished.Failed > 0)
            {
                // Nothing to compare: the run failed, whatever was written. The reasons are in trials.csv and logs/.
                var line = $"every trial failed ({finished.Failed}); first: {finished.FirstFailure} (reasons in {Path.Combine(folder.Root, "trials.csv")})";
                throw new RunFailedException(line);
            }
            if (request.Stay)
            {
                log.Main.Information("--stay: the coordinator keeps running; Ctrl-C to stop");
                await Task.Delay(Timeout.Infinite, stop).ContinueWith(_ => { });
            }
            return RunEnd.Finished;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            log.Main.Warning("Interrupted. Finished trials are in the journal; run the same command with the same --out to resume");
            return RunEnd.Interrupted;
        }
        finally
        {
            // The coordinator leaves the cluster before `local`'s nodes are stopped, so they see it leave on purpose.
            await coordinator.DisposeAsync();
        }
    }

    static int FreePort(string host)
    {
        using var listener = new TcpListener(HostAddress.Resolve(host, "--host"), 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The remoting port, the live page and the health endpoints each need a port of their own: each is free
    /// now, but the second to bind one of them would fail after the run had started.</summary>
    static void EnsureDistinctPorts(CoordinatorRequest request, int port)
    {
        var listeners = new List<(string Flag, string Host, string HostFlag, int Port)> { ("--port", request.Host, "--host", port) };
        if (request.HttpPort is { } http and > 0) listeners.Add(("--http", request.HttpHost, "--http-host", http));
        if (request.Health is { } health) listeners.Add(("--health-port", health.Host, "--health-host", health.Port));
        for (var i = 0; i < listeners.Count; i++)
            for (var j = 0; j < i; j++)
                if (listeners[i].Port == listeners[j].Port
                    && SameInterface(HostAddress.Resolve(listeners[i].Host, listeners[i].HostFlag), HostAddress.Resolve(listeners[j].Host, listeners[j].HostFlag)))
                    throw new UserInputException($"{listeners[i].Flag} {listeners[i].Port} is the port of {listeners[j].Flag} on {listeners[j].Host}; " +
                                                 $"each needs its own port — choose another {listeners[i].Flag}");
    }

    /// <summary>Whether two listen addresses overlap: the same address, or either one every address (0.0.0.0, ::).</summary>
    static bool SameInterface(IPAddress x, IPAddress y)
    {
        static bool Any(IPAddress ip) => ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any);
        return x.Equals(y) || Any(x) || Any(y);
    }

    /// <summary>Refuses a port already in use with one clear line, before anything is written; and a host that does
    /// not resolve (<see cref="HostAddress.Resolve"/>), naming <paramref name="hostFlag"/>.</summary>
    public static void EnsurePortFree(string host, int port, string flag = "--port", string hostFlag = "--host")
    {
        if (port is < 1 or > 65535) throw new UserInputException($"{flag} {port} is not a TCP port (1-65535)");
        var address = HostAddress.Resolve(host, hostFlag);
        try
        {
            using var listener = new TcpListener(address, port);
            // A restarted coordinator must get its port back while old connections linger in TIME_WAIT, so set
            // SO_REUSEADDR — raw, because .NET's ReuseAddress also sets SO_REUSEPORT on Linux, which would let this
            // bind beside a live coordinator (Akka's transport sets both, so this check is what keeps one per port).
            if (OperatingSystem.IsLinux())
                listener.Server.SetRawSocketOption(SolSocket, SoReuseAddr, BitConverter.GetBytes(1));
            listener.Start();
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            throw new UserInputException($"port {port} on {host} is already in use; choose another {flag}");
        }
        catch (SocketException e)
        {
            throw new UserInputException($"cannot listen on {host}:{port}: {e.Message}");
        }
    }

    const int SolSocket = 1, SoReuseAddr = 2; // <sys/socket.h> on Linux
}
