using System.CommandLine;
using System.Diagnostics;
using SamCluster.Cli.Bench;
using SamCluster.Messages;
using SamCluster.Training;
using SamCluster.Training.Optimization;
using TorchSharp;
using SamCluster.Experiment;

namespace SamCluster.Cli.Commands;

/// <summary>`samcluster bench`: training-step img/s of our models and optimizers, each next to the PyTorch peer
/// (bench/pytorch_peer.py beside the program, from src/Cli/Bench/) run with the same arguments in the same run.</summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var device = new Option<string>("--device") { Description = "Device to measure on: cpu, cuda or cuda:N.", DefaultValueFactory = _ => "cpu" };
        var threads = new Option<int>("--threads") { Description = "Torch intra-op threads (ours and the peer's).", DefaultValueFactory = _ => Environment.ProcessorCount };
        var steps = new Option<int>("--steps") { Description = "Timed steps per case, after 5 warm-up steps.", DefaultValueFactory = _ => 20 };
        var peer = new Option<string?>("--peer") { Description = $"A PyTorch peer script with pytorch_peer.py's command line (default: {PytorchPeer.BundledPath}, beside the program).", HelpName = "path" };
        var models = new Option<string>("--models") { Description = "Comma-separated models to measure.", DefaultValueFactory = _ => "resnet18,resnet34" };
        var optimizers = new Option<string>("--optimizers") { Description = $"Comma-separated optimizers to measure, of {string.Join(", ", Benchmarked)}; SGD is measured first, for the others' time relative to it.", DefaultValueFactory = _ => string.Join(",", Benchmarked) };
        var inputs = new Option<string>("--inputs") { Description = "Comma-separated input shapes CxS (1x28: Fashion-MNIST, 3x256: Stanford Dogs).", DefaultValueFactory = _ => "1x28,3x256" };
        var batch = new Option<int>("--batch-size") { Description = "Images per training step.", DefaultValueFactory = _ => 128 };
        var rounds = new Option<int>("--rounds") { Description = "Measure ours and the peer alternately this many times and keep each one's best (steadier on a shared machine).", DefaultValueFactory = _ => 1 };
        var pack = new Option<int>("--pack") { Description = "Also measure each case as a pack of this many repeats trained as one fused model (SGD and SAM; 1: off).", DefaultValueFactory = _ => 1, HelpName = "K" };
        var libtorch = LibTorchFlag.Create();

        var command = new Command("bench", "Training-step throughput (img/s) of ResNet-18/34 x SGD/SAM/MSAM/LookSAM, side by side with PyTorch, and each step's time relative to SGD's.");
        foreach (var option in new Option[] { device, threads, steps, peer, models, optimizers, inputs, batch, rounds, pack, libtorch })
            command.Options.Add(option);

        command.SetAction(parse => Program.Run(() =>
        {
            var threadCount = Positive(parse.GetValue(threads), "--threads");
            var stepCount = Positive(parse.GetValue(steps), "--steps");
            var batchSize = Positive(parse.GetValue(batch), "--batch-size");
            var roundCount = Positive(parse.GetValue(rounds), "--rounds");
            var packSize = Positive(parse.GetValue(pack), "--pack");
            var deviceText = parse.GetValue(device)!;
            var cases = Cases(List(parse.GetValue(models)!), List(parse.GetValue(optimizers)!), List(parse.GetValue(inputs)!), batchSize);

            LibTorchFlag.Initialize(parse, libtorch);
            var torchDevice = TrainingDevice.Resolve(deviceText);
            torch.set_num_threads(threadCount);
            var peerRunner = PytorchPeer.Find(parse.GetValue(peer));

            Console.WriteLine($"samcluster bench: device {torchDevice}, {threadCount} threads, batch {batchSize}, {StepBenchmark.WarmUpSteps} warm-up + {stepCount} timed steps, best of {roundCount} round(s)");
            if (peerRunner.Problem is not null) Console.WriteLine($"pytorch peer: {peerRunner.Problem}");
            Console.WriteLine($"{"model",-9} {"optim",-7} {"input",-9} {"ours img/s",10} {"pytorch img/s",13} {"ratio",6} {"x sgd",6} {"peer x sgd",10} {"rss MiB",8}");
            // Each optimizer's step time relative to SGD's on the same model and input (SGD img/s / its img/s), ours
            // and the peer's: what the optimizer costs, the figure the cheaper-SAM targets are stated in.
            var sgdRates = new Dictionary<(string, string), (double Ours, double? Peer)>();
            foreach (var benchCase in cases)
            {
                double ours = 0;
                string? peerLine = null;
                double? peerImagesPerSecond = null;
                for (int round = 0; round < roundCount; round++)
                {
                    ours = Math.Max(ours, StepBenchmark.ImagesPerSecond(benchCase, stepCount, torchDevice));
                    var (line, rate) = peerRunner.Run(benchCase, deviceText, threadCount, stepCount);
                    if (rate is { } r && (peerImagesPerSecond is null || r > peerImagesPerSecond)) (peerLine, peerImagesPerSecond) = (line, r);
                    else peerLine ??= line;
                }
                var rss = Environment.WorkingSet / (1 << 20);
                var ratio = peerImagesPerSecond is > 0 ? $"{ours / peerImagesPerSecond.Value,6:F2}" : $"{"-",6}";
                var theirs = peerImagesPerSecond is { } p ? $"{p,13:F1}" : $"{"-",13}";
                if (benchCase.Optimizer == Vocabulary.SgdName) sgdRates[(benchCase.Model, benchCase.Input)] = (ours, peerImagesPerSecond);
                var sgd = sgdRates.GetValueOrDefault((benchCase.Model, benchCase.Input));
                var oursVsSgd = sgd.Ours > 0 ? $"{sgd.Ours / ours,6:F2}" : $"{"-",6}";
                var peerVsSgd = sgd.Peer is > 0 && peerImagesPerSecond is > 0 ? $"{sgd.Peer.Value / peerImagesPerSecond.Value,10:F2}" : $"{"-",10}";
                Console.WriteLine($"{benchCase.Model,-9} {benchCase.Optimizer,-7} {benchCase.Input,-9} {ours,10:F1} {theirs} {ratio} {oursVsSgd} {peerVsSgd} {rss,8}");
                if (peerLine is not null) Console.WriteLine($"  peer: {peerLine}");
                if (packSize > 1 && TrainingStep.SupportsPacking(benchCase.Optimizer))
                {
                    // The peer packs nothing: its eager solo step is what a packed member is measured against.
                    double packed = 0;
                    for (int round = 0; round < roundCount; round++)
                        packed = Math.Max(packed, StepBenchmark.PackedImagesPerSecond(benchCase, stepCount, torchDevice, packSize));
                    var versusPeer = peerImagesPerSecond is > 0 ? $", {packed / peerImagesPerSecond.Value:F2}x pytorch solo" : "";
                    Console.WriteLine($"  pack {packSize}: {packed:F1} img/s in all, {packed / packSize:F1} per member, {packed / ours:F2}x ours solo{versusPeer}");
                }
            }
            return Program.Ok;
        }));
        return command;
    }

    /// <summary>The optimizers the bench and its PyTorch peer both run; ASAM's step costs what SAM's does.</summary>
    private static readonly string[] Benchmarked = [Vocabulary.SgdName, Vocabulary.Sam.Name, Vocabulary.MsamName, Vocabulary.LookSamName];

    private static int Positive(int value, string flag) =>
        value >= 1 ? value : throw new UserInputException($"{flag} must be at least 1, got {value}");

    private static string[] List(string text) => text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Fashion-MNIST-shaped inputs get 5 classes, Stanford-Dogs-shaped ones 8, as in the study.</summary>
    private static List<StepBenchmarkCase> Cases(string[] models, string[] optimizers, string[] inputs, int batchSize)
    {
        var cases = new List<StepBenchmarkCase>();
        foreach (var input in inputs)
        {
            var parts = input.Split('x');
            if (parts.Length != 2 || !int.TryParse(parts[0], out var channels) || !int.TryParse(parts[1], out var size) || channels < 1 || size < 32 && size != 28)
                throw new UserInputException($"--inputs entry '{input}' is not CxS (e.g. 1x28 or 3x256)");
            foreach (var model in models)
            {
                if (!SamCluster.Experiment.Vocabulary.ModelNames.Contains(model))
                    throw new UserInputException($"--models entry '{model}' is unknown (expected {string.Join(" or ", SamCluster.Experiment.Vocabulary.ModelNames)})");
                // SGD first, so that every other optimizer's row can say its time relative to SGD's.
                foreach (var optimizer in optimizers.OrderBy(o => o == Vocabulary.SgdName ? 0 : 1))
                {
                    if (!Benchmarked.Contains(optimizer))
                        throw new UserInputException($"--optimizers entry '{optimizer}' is unknown (expected {string.Join(", ", Benchmarked)})");
                    cases.Add(new StepBenchmarkCase(model, optimizer, channels, size, channels == 1 ? 5 : 8, batchSize));
                }
            }
        }
        return cases;
    }
}

/// <summary>Runs the PyTorch peer (this program's bench/pytorch_peer.py, or --peer) with a python3 that has torch, or
/// says why it cannot.</summary>
public sealed class PytorchPeer
{
    private readonly string? _python, _script;
    public string? Problem { get; }

    private PytorchPeer(string? python, string? script, string? problem) => (_python, _script, Problem) = (python, script, problem);

    public static PytorchPeer Find(string? peerPath)
    {
        if (peerPath is not null && !File.Exists(peerPath))
            throw new UserInputException($"--peer '{peerPath}' does not exist");
        var script = peerPath ?? Path.Combine(AppContext.BaseDirectory, BundledPath);
        if (!File.Exists(script))
            return new PytorchPeer(null, null, $"{script} is missing from this build (pass --peer PATH); showing our figures only");
        // The first python3 on PATH may be a pyenv without torch; Debian's python3-torch lives under /usr/bin/python3.
        foreach (var candidate in new[] { "python3", "/usr/bin/python3" })
            if (Execute(candidate, ["-c", "import torch"], out _) == 0)
                return new PytorchPeer(candidate, script, null);
        return new PytorchPeer(null, null, "python3 with torch not found (apt-get install -y python3-torch); showing our figures only");
    }

    /// <summary>Where the build puts the repository's peer (src/Cli/Bench/pytorch_peer.py), relative to the program.</summary>
    public const string BundledPath = "bench/pytorch_peer.py";

    public (string? Line, double? ImagesPerSecond) Run(StepBenchmarkCase c, string device, int threads, int steps)
    {
        if (_python is null || _script is null) return (null, null);
        var exit = Execute(_python, [_script, "--depth", c.Model.Replace("resnet", ""), "--device", device, "--batch", $"{c.BatchSize}",
            "--size", $"{c.Size}", "--channels", $"{c.Channels}", "--classes", $"{c.Classes}", "--optimizer", c.Optimizer,
            "--threads", $"{threads}", "--steps", $"{steps}"], out var output);
        var line = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "";
        var marker = line.LastIndexOf("img/s=", StringComparison.Ordinal);
        if (exit != 0 || marker < 0 || !double.TryParse(line[(marker + 6)..], System.Globalization.CultureInfo.InvariantCulture, out var rate))
            return ($"failed (exit {exit}): {line}", null);
        return (line, rate);
    }

    private static int Execute(string file, string[] args, out string output)
    {
        try
        {
            var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in args) info.ArgumentList.Add(arg);
            using var process = Process.Start(info)!;
            var stderr = process.StandardError.ReadToEndAsync();
            output = process.StandardOutput.ReadToEnd() + stderr.Result;
            process.WaitForExit();
            return process.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            output = e.Message;
            return -1;
        }
    }
}
