using System.CommandLine;
using SamCluster.Cli.Composition;
using SamCluster.Coordinator.Hosting;
using SamCluster.Cli.Processes;
using SamCluster.Messages;
using SamCluster.Training;
using SamCluster.Experiment;
using SamCluster.GpuNode;

namespace SamCluster.Cli.Commands;

/// <summary>`samcluster local GRID.yaml --nodes N --out DIR`: a coordinator plus N node processes on 127.0.0.1.</summary>
public static class LocalCommand
{
    public static Command Create()
    {
        var grid = new Argument<string>("grid") { Description = "The grid file (YAML)." };
        var nodes = new Option<int?>("--nodes") { Description = $"Node processes to start (default: one per GPU, else {LocalNodes.DefaultCpuNodes})." };
        var devices = new Option<string?>("--devices") { Description = "Devices of every node: cpu, or cuda:0,cuda:1,... (default: this machine's GPUs, one node per GPU; else cpu)." };
        var slots = new Option<int>("--slots") { Description = "Trials per device at once.", DefaultValueFactory = _ => 1 };
        var pack = new Option<int?>("--pack") { Description = "Repeats of one cell each worker of the nodes trains as one fused model (default: the grid's `pack` key, else 1).", HelpName = "k" };
        var threads = new Option<int?>("--threads") { Description = "Torch CPU threads per trial (default: the machine's cores / the trials that run at once)." };
        var port = new Option<int>("--port") { Description = "Coordinator port (0: any free one).", DefaultValueFactory = _ => 0 };
        var libtorch = LibTorchFlag.Create();
        var options = new ClusterOptionsSet();
        var command = new Command("local", "Run a grid on this machine: a coordinator and N node processes on 127.0.0.1.")
        {
            grid, nodes, devices, slots, pack, threads, port, libtorch,
        };
        options.AddTo(command);
        // Its nodes reach the coordinator at 127.0.0.1: where remoting listens and the name other machines use mean
        // nothing here. Still accepted (scripts that pass them keep working), not offered in --help.
        options.Host.Hidden = true;
        options.PublicHost.Hidden = true;
        command.SetAction((parse, _) =>
        {
            using var signal = new ShutdownSignal();
            return Task.FromResult(Program.Run(() =>
            {
                var givenNodes = parse.GetValue(nodes) is { } n ? FlagChecks.Nodes(n) : (int?)null;
                var slotCount = FlagChecks.Slots(parse.GetValue(slots));
                var packSize = parse.GetValue(pack) is { } k ? FlagChecks.Pack(k) : (int?)null;
                var givenThreads = parse.GetValue(threads) is { } t ? FlagChecks.Threads(t) : (int?)null;
                var request = options.Request(parse, parse.GetValue(grid)!, FlagChecks.Port(parse.GetValue(port), "--port", allowZero: true), checkLocalData: true);
                // The nodes would refuse bad devices and exit, leaving the coordinator waiting for workers forever.
                var libtorchFolder = LibTorchFlag.Initialize(parse, libtorch);
                var devicesText = parse.GetValue(devices);
                var gpuCount = NodeCommand.DeviceList(devicesText).Count(DeviceNames.IsGpu);
                var devicesPerNode = LocalNodes.DevicesPerNode(givenNodes, devicesText, gpuCount);
                // The nodes share this machine's cores: each trial that runs at once gets an equal part.
                var trialsAtOnce = devicesPerNode.Sum(d => d.Split(',', StringSplitOptions.RemoveEmptyEntries).Length) * slotCount;
                var threadCount = givenThreads ?? FlagChecks.Threads(NodeDefaults.Threads(Environment.ProcessorCount, trialsAtOnce));
                return CoordinatorCommand.ExitCode(CoordinatorRun.RunAsync(request, TrainingServices.ForCoordinator(),
                    (coordinatorPort, folder, onLogFailure) => LocalNodes.Start(devicesPerNode, coordinatorPort, folder.LogsDir,
                        slotCount, threadCount, libtorchFolder, request.Verbose, onLogFailure, packSize),
                    signal.Token).GetAwaiter().GetResult());
            }));
        });
        return command;
    }
}
