using System.CommandLine;
using SamCluster.Cli.Processes;
using SamCluster.GpuNode;
using SamCluster.GpuNode.Hosting;
using SamCluster.Hosting;
using SamCluster.Hosting.Logging;
using SamCluster.Messages;
using SamCluster.Training;
using Serilog;
using Serilog.Events;
using TorchSharp;

namespace SamCluster.Cli.Commands;

/// <summary>`samcluster node --coordinator H:P [--devices cpu|cuda:0,cuda:1] [--slots K]`: a GPU node.</summary>
public static class NodeCommand
{
    public static Command Create()
    {
        var coordinator = new Option<string>("--coordinator") { Description = "The coordinator's HOST:PORT.", Required = true, HelpName = "host:port" };
        var devices = new Option<string?>("--devices") { Description = "Devices to train on: cpu, or cuda:0,cuda:1,... (default: every visible GPU, else cpu)." };
        var slots = new Option<int>("--slots") { Description = "Trials per device at once.", DefaultValueFactory = _ => 1 };
        var pack = new Option<int?>("--pack") { Description = "Repeats of one cell each worker trains as one fused model (default: the grid's `pack` key, else 1).", HelpName = "k" };
        var threads = new Option<int?>("--threads") { Description = "Torch CPU threads per trial (default: the machine's cores / the node's devices × slots)." };
        var host = new Option<string>("--host") { Description = "Address this node's remoting listens on.", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "Port this node listens on (0: any free one).", DefaultValueFactory = _ => 0 };
        var publicHost = new Option<string?>("--public-host") { Description = "Host name the coordinator uses to reach this node (default: --host)." };
        var name = new Option<string?>("--name") { Description = "Node name in logs and trials.csv (default: the machine's name, with -2, -3 … for further nodes on it)." };
        var libtorch = LibTorchFlag.Create();
        var joinTimeout = new Option<int>("--join-timeout") { Description = "Seconds to wait for the coordinator at start before giving up.", DefaultValueFactory = _ => 60 };
        var service = new Option<bool>("--service")
        {
            Description = "Run as a service (systemd, a pod): wait for a coordinator at --coordinator as long as the node runs, from the first start on (--join-timeout does not apply).",
        };
        var checkpointDir = new Option<string?>("--checkpoint-dir") { HelpName = "dir", Description = "Checkpoint store of this node's trials (default: the coordinator's --checkpoint-dir, as this host sees that path)." };
        var verbose = ClusterOptionsSet.VerboseOption();
        var parentPid = new Option<int?>("--parent-pid") { Description = "Exit when this process exits (used by `local`).", Hidden = true };
        var command = new Command("node", "Run a GPU node: one worker per device slot, pulling trials from the coordinator.")
        {
            coordinator, devices, slots, pack, threads, host, port, publicHost, name, libtorch, joinTimeout, service, checkpointDir, verbose, parentPid,
        };
        var tls = new RemotingTlsOptions();
        tls.AddTo(command);
        var health = new HealthOptions();
        health.AddTo(command);
        command.SetAction((parse, _) =>
        {
            using var signal = new ShutdownSignal(parse.GetValue(parentPid));
            return Task.FromResult(Program.Run(() =>
            {
                var (coordinatorHost, coordinatorPort) = FlagChecks.HostAndPort(parse.GetValue(coordinator)!, "--coordinator");
                var slotCount = FlagChecks.Slots(parse.GetValue(slots));
                var packSize = parse.GetValue(pack) is { } k ? FlagChecks.Pack(k) : WorkerReady.PackAsGridSays;
                var join = FlagChecks.JoinTimeout(parse.GetValue(joinTimeout));
                var asService = parse.GetValue(service);
                if (asService && parse.GetResult(joinTimeout) is { Implicit: false })
                    throw new UserInputException("--service waits for a coordinator without limit; leave out --join-timeout");
                var givenThreads = parse.GetValue(threads) is { } t ? FlagChecks.Threads(t) : (int?)null;
                var listenHost = FlagChecks.Host(parse.GetValue(host), "--host");
                // Remoting binds to it later; a name that does not resolve (or a DNS server that never answers) is said now.
                HostAddress.Resolve(listenHost, "--host", signal.Token);
                var listenPort = FlagChecks.Port(parse.GetValue(port), "--port", allowZero: true);
                var publicHostName = parse.GetValue(publicHost) is { } given ? FlagChecks.Host(given, "--public-host") : null;
                var givenName = parse.GetValue(name) is { } named ? FlagChecks.Name(named, "--name") : null;
                var store = parse.GetValue(checkpointDir) is { } folder
                    ? UserPaths.CheckWritableFolder(FlagChecks.Folder(folder, "--checkpoint-dir"), "--checkpoint-dir")
                    : null;
                var remotingTls = tls.Open(parse);
                var healthEndpoint = health.Endpoint(parse);

                LibTorchFlag.Initialize(parse, libtorch);
                var deviceList = DeviceList(parse.GetValue(devices));
                var threadCount = givenThreads ?? NodeDefaults.Threads(Environment.ProcessorCount, deviceList.Count * slotCount);
                torch.set_num_threads(threadCount);
                // Held while the node runs: a second node on this machine takes the next index.
                using var nameClaim = givenName is null ? NodeNameClaim.Take(Environment.MachineName, NodeNameClaim.DefaultLockFolder) : null;
                var nodeName = givenName ?? nameClaim!.Name;

                // The node's console is its log (logs/node-K.log under `local`): its own lines, its workers', and Akka's
                // warnings, one line each; Akka's expected events (a peer leaving, say) are Debug (AkkaLog); --verbose
                // shows everything.
                var verboseOn = parse.GetValue(verbose);
                using var log = new LoggerConfiguration().MinimumLevel.Is(verboseOn ? LogEventLevel.Debug : LogEventLevel.Information)
                    .Filter.ByIncludingOnly(e => AkkaLog.Shown(e, verboseOn))
                    .WriteTo.Console(new AkkaConsole.OneLine(nodeName + ": ", errorTraces: true))
                    .CreateLogger();
                using var executor = new TorchTrialExecutor(store is null ? null : Path.GetFullPath(store));
                var member = new ClusterMemberOptions(ClusterMember.GpuRole, coordinatorHost, coordinatorPort, listenHost, listenPort,
                    publicHostName, remotingTls, verboseOn);
                var role = new GpuNodeRoleOptions(nodeName, deviceList, slotCount, TimeSpan.FromSeconds(3), NodeFactsProbe.Read(deviceList, threadCount, workers: deviceList.Count * slotCount))
                    { Pack = packSize };
                log.Information("Node {Node} (pid {Pid}): {Workers} on {Devices}, {Threads} per trial; joining {Host}:{Port}",
                    nodeName, Environment.ProcessId, ConsoleText.Count(role.Workers, "worker"), string.Join(",", deviceList),
                    ConsoleText.Count(threadCount, "torch thread"), coordinatorHost, coordinatorPort);
                GpuNodeHost.RunAsync(new GpuNodeHostOptions(member, role, asService ? Timeout.InfiniteTimeSpan : TimeSpan.FromSeconds(join), healthEndpoint), executor, log, signal.Token).GetAwaiter().GetResult();
                log.Information("Node {Node} stopped", nodeName);
                return Program.Ok;
            }));
        });
        return command;
    }

    /// <summary>"cpu" / "cuda:0,cuda:1" checked against this machine; none given = every visible GPU, else the CPU.</summary>
    public static IReadOnlyList<string> DeviceList(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            var gpus = torch.TryInitializeDeviceType(DeviceType.CUDA) ? torch.cuda.device_count() : 0;
            return gpus > 0 ? Enumerable.Range(0, gpus).Select(i => $"cuda:{i}").ToList() : ["cpu"];
        }
        var list = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToList();
        if (list.Count == 0) throw new UserInputException("--devices is empty");
        var duplicates = list.GroupBy(d => d).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        if (duplicates.Count > 0) throw new UserInputException($"--devices names {duplicates[0]} twice (use --slots for several trials per device)");
        foreach (var device in list) TrainingDevice.Resolve(device);
        return list;
    }
}
