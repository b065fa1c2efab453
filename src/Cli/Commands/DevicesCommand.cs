using System.CommandLine;
using SamCluster.Cli.Processes;
using SamCluster.Messages;
using SamCluster.Training;
using SamCluster.Experiment;

namespace SamCluster.Cli.Commands;

/// <summary>`samcluster devices [--libtorch DIR]`: which libtorch this program binds to and which devices it sees, and so
/// what `node` and `local` use by default. A libtorch it cannot bind to is refused (exit 2) with the loader's own error
/// and the version found, which makes it the first check on a new GPU machine (deploy/gpu/run-on-gpu.sh).</summary>
public static class DevicesCommand
{
    public static Command Create()
    {
        var libtorch = LibTorchFlag.Create();
        var command = new Command("devices", "Show the libtorch this program binds to and the devices it sees (what node and local use by default).")
        {
            libtorch,
        };
        command.SetAction(parse => Program.Run(() =>
        {
            LibTorchFlag.Initialize(parse, libtorch);
            var folder = TorchRuntime.Folder ?? TorchRuntime.BundledLibTorch()!;
            var version = (TorchRuntime.Folder is null ? TorchRuntime.BundledVersion() : TorchRuntime.VersionIn(folder)) ?? "version not recorded";
            Console.WriteLine($"libtorch: {(TorchRuntime.Folder is null ? "bundled" : "external")}, {version}, in {folder}");
            Console.WriteLine($"TorchSharp: {TorchRuntime.TorchSharpVersion} (built for libtorch {TorchRuntime.ExpectedLibTorch})");
            var gpus = NodeCommand.DeviceList(null).Where(DeviceNames.IsGpu).ToList();
            Console.WriteLine(gpus.Count > 0
                ? $"cuda: {gpus.Count} device(s): {string.Join(", ", gpus)}"
                : $"cuda: none ({(File.Exists(Path.Combine(folder, "libtorch_cuda.so")) ? "this libtorch has CUDA, but no GPU or driver answers" : "this libtorch is CPU-only")})");
            Console.WriteLine($"node default: --devices {(gpus.Count > 0 ? string.Join(",", gpus) : "cpu")}");
            var perNode = LocalNodes.DevicesPerNode(nodes: null, devices: null, gpus.Count);
            Console.WriteLine($"local default: {perNode.Count} node(s): {string.Join(", ", perNode.Select((d, k) => $"node-{k + 1} on {d}"))}");
            return Program.Ok;
        }));
        return command;
    }
}
