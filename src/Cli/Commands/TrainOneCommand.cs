using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SamCluster.Messages;
using SamCluster.Training;
using SamCluster.Training.Checkpoints;
using SamCluster.Training.Data;
using TorchSharp;
using SamCluster.Experiment;

namespace SamCluster.Cli.Commands;

/// <summary>`samcluster train-one`: one trial on this machine, one JSON line per epoch on stdout.</summary>
public static class TrainOneCommand
{
    public static Command Create()
    {
        var dataset = new Option<string>("--dataset") { Description = $"Dataset: {string.Join(" or ", Vocabulary.DatasetNames)}.", DefaultValueFactory = _ => Vocabulary.FashionMnist.Name };
        var model = new Option<string>("--model") { Description = $"Model: {string.Join(" or ", Vocabulary.ModelNames)}.", DefaultValueFactory = _ => Vocabulary.ResNet18.Name };
        var optimizer = new Option<string>("--optimizer") { Description = $"Optimizer: {string.Join(", ", Vocabulary.OptimizerNames)}.", DefaultValueFactory = _ => Vocabulary.Sgd.Name };
        var trainLimit = new Option<int>("--train-limit") { Description = "Use at most this many training images, balanced across classes (0: all)." };
        var testLimit = new Option<int>("--test-limit") { Description = "Use at most this many test images (0: all)." };
        var device = new Option<string>("--device") { Description = "Device to train on: cpu, cuda or cuda:N.", DefaultValueFactory = _ => "cpu" };
        var recipeFlags = RecipeFlags.Create();
        var seed = new Option<long?>("--seed") { Description = "Seed of init and batch order (default: derived from dataset/model/repeat)." };
        var repeat = new Option<int>("--repeat") { Description = "Repeat number (feeds the default seed)." };
        var threads = new Option<int>("--threads") { Description = "Torch intra-op threads.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var data = new Option<string?>("--data") { Description = $"Data folder (default for fashion-mnist: {Vocabulary.FashionMnist.DefaultRoot}; stanford-dogs: its Images/ folder).", HelpName = "dir" };
        var classes = new Option<string?>("--classes") { Description = $"Comma-separated classes (default for {Vocabulary.FashionMnist.Name}: {string.Join(",", Vocabulary.FashionMnist.DefaultClasses)}; {Vocabulary.StanfordDogs.Name}: the study's 8 breeds)." };
        var imageSize = new Option<int?>("--image-size") { Description = $"Image side the model sees (default: {string.Join(", ", Vocabulary.Datasets.Select(d => $"{d.DefaultImageSize} {d.Name}"))})." };
        var libtorch = LibTorchFlag.Create();
        var checkpointDir = new Option<string?>("--checkpoint-dir") { Description = "Checkpoint into this folder after every epoch; run again with the same flags to resume from its newest valid checkpoint.", HelpName = "dir" };

        var command = new Command("train-one", "Train one model on one dataset here and print one JSON line per epoch.");
        foreach (var option in new Option[] { dataset, model, optimizer, trainLimit, testLimit, device })
            command.Options.Add(option);
        recipeFlags.AddTo(command);
        foreach (var option in new Option[] { seed, repeat, threads, data, classes, imageSize, libtorch, checkpointDir })
            command.Options.Add(option);

        command.SetAction(parse => Program.Run(() =>
        {
            var datasetName = parse.GetValue(dataset)!.Trim().ToLowerInvariant();
            var facts = Vocabulary.FindDataset(datasetName);
            // No --epochs: the dataset's (an unknown dataset is refused by the rules below, in flag terms).
            var recipe = recipeFlags.Recipe(parse, facts?.DefaultEpochs ?? Vocabulary.FashionMnist.DefaultEpochs, parse.GetValue(optimizer)!);
            // No --classes: the dataset's default classes (the loaders' own default, so nothing is spelled twice).
            var classList = parse.GetValue(classes)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];
            if (parse.GetValue(classes) is not null && classList.Length == 0) throw new UserInputException("--classes is empty");
            var dataSpec = new DataSpec(datasetName, parse.GetValue(data) ?? "", classList,
                TrainLimit: parse.GetValue(trainLimit),
                TestLimit: parse.GetValue(testLimit),
                ImageSize: parse.GetValue(imageSize) ?? facts?.DefaultImageSize ?? 0);
            var key = new TrialKey(datasetName, parse.GetValue(model)!, parse.GetValue(optimizer)!, parse.GetValue(repeat));
            var spec = new TrialSpec(key, parse.GetValue(seed) ?? key.DeriveSeed(), dataSpec, recipe);
            var threadCount = FlagChecks.Threads(parse.GetValue(threads));
            SpecRules.Validate(spec, inFlagTerms: true); // the grid's rules; before loading data, so a typo costs no wait
            var checkpoints = CheckpointsIn(parse.GetValue(checkpointDir), spec);

            LibTorchFlag.Initialize(parse, libtorch);
            var torchDevice = TrainingDevice.Resolve(parse.GetValue(device)!);
            torch.set_num_threads(threadCount);
            return Train(spec, torchDevice, checkpoints);
        }));
        return command;
    }

    /// <summary>train-one's checkpointing: attempt 1, every epoch, resuming from whatever the folder holds for this
    /// trial. A folder holding another spec's checkpoint is refused before anything is loaded or written.</summary>
    private static TrialCheckpointing? CheckpointsIn(string? folder, TrialSpec spec)
    {
        if (folder is null) return null;
        if (folder.Trim().Length == 0) throw new UserInputException("--checkpoint-dir must name a folder");
        if (File.Exists(folder)) throw new UserInputException($"--checkpoint-dir {folder} is a file, not a folder");
        // /proc, /sys, a read-only file system: refused before it is walked (it never ends) or written (it cannot be).
        UserPaths.CheckWritableFolder(FlagChecks.Folder(folder, "--checkpoint-dir"), "--checkpoint-dir");
        var store = new CheckpointStore(folder);
        if (store.FindOtherSpec(spec) is { } other)
            throw new UserInputException($"--checkpoint-dir {folder} holds a checkpoint of a different trial ({other.Difference})");
        return new TrialCheckpointing(store, Attempt: 1, Every: 1, store.Find(spec.Key.Id), SaveWeights: false, PruneWhenSaved: true);
    }

    private static int Train(TrialSpec spec, torch.Device device, TrialCheckpointing? checkpoints)
    {
        var clock = Stopwatch.StartNew();
        using var onCpu = DatasetLoader.Load(spec.Data);
        using var onDevice = onCpu.To(device);
        Console.Error.WriteLine($"samcluster: {spec.Key} seed {spec.Seed}: {onCpu.TrainCount} train / {onCpu.TestCount} test images " +
                                $"{onCpu.Channels}x{onCpu.ImageSize}x{onCpu.ImageSize}, {onCpu.ClassNames.Count} classes, loaded in {clock.Elapsed.TotalSeconds:F1} s; device {device}, {torch.get_num_threads()} threads");
        try
        {
            var summary = TrialRunner.Run(spec, TrainingTensors.From(onDevice), device,
                resume => { if (checkpoints is not null) Console.Error.WriteLine($"samcluster: {resume.Note}"); },
                (metrics, _) => Console.WriteLine(EpochJson(metrics)), checkpoints).Summary;
            Console.Error.WriteLine($"samcluster: done in {clock.Elapsed.TotalSeconds:F1} s: test acc {summary.TestAcc:F2}%, train acc {summary.TrainAcc:F2}%");
            return Program.Ok;
        }
        catch (TrialFailedException e)
        {
            Console.Error.WriteLine($"samcluster: trial failed: {ConsoleText.Escape(e.Message)}");
            return Program.Failure;
        }
    }

    /// <summary>The per-epoch line of the CLI contract; rss_mib shows that memory stays flat across epochs.</summary>
    public static string EpochJson(EpochMetrics m) => JsonSerializer.Serialize(new
    {
        epoch = m.Epoch,
        train_loss = Rounded(m.TrainLoss, 6),
        train_acc = Rounded(m.TrainAcc, 4),
        test_loss = Rounded(m.TestLoss, 6),
        test_acc = Rounded(m.TestAcc, 4),
        lr = double.IsFinite(m.LearningRate) ? m.LearningRate : (double?)null,
        seconds = Rounded(m.Seconds, 3),
        images_per_s = Rounded(m.ImagesPerSecond, 1),
        rss_mib = Environment.WorkingSet / (1 << 20),
    });

    // JSON has no NaN or infinity (a diverged test loss): such a value is null, not a crash of the whole line.
    static double? Rounded(double value, int digits) => double.IsFinite(value) ? Math.Round(value, digits) : null;
}
