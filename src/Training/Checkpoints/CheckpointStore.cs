using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;
using SamCluster.Messages;
using SamCluster.Training.Optimization;
using static TorchSharp.torch;

namespace SamCluster.Training.Checkpoints;

/// <summary>What a checkpoint restores besides the model's and the optimizer's tensors.</summary>
/// <param name="Epoch">Epochs done; training continues with Epoch + 1.</param>
/// <param name="DataOrderSeed">The trial's seed. Epoch e's batch order is randperm(Generator(seed + e)), so the seed
/// and the epoch index decide every later epoch's order; no generator state needs saving.</param>
/// <param name="History">Every epoch so far (1..Epoch), so a resumed run still reports the whole trial.</param>
public sealed record CheckpointContents(string TrialId, int Attempt, int Epoch, long DataOrderSeed,
    IReadOnlyList<EpochMetrics> History, PlateauState Plateau);

/// <summary>A checkpoint whose trial spec is not the one asked about, and what differs.</summary>
public sealed record ForeignCheckpoint(string Location, string Difference);

/// <summary>Per-epoch checkpoints and final weights of trials, under one root folder (shared by the nodes, or
/// train-one's --checkpoint-dir). A trial's files live in &lt;root&gt;/&lt;trial id&gt;/ (the id's slashes make
/// sub-folders): attempt-A-epoch-EEEE.ckpt, only the newest of each attempt kept, and weights-attempt-A.pt. Every file
/// is written durably (<see cref="DurableFile"/>); a checkpoint's bytes are <see cref="CheckpointCodec"/>'s.</summary>
public sealed partial class CheckpointStore(string root)
{
    private const string CheckpointExtension = ".ckpt";

    /// <summary>The store's root folder; it is created by the first write, not before.</summary>
    public string Root { get; } = Path.GetFullPath(root);

    public static string CheckpointFileName(int attempt, int epoch) => $"attempt-{attempt}-epoch-{epoch:D4}{CheckpointExtension}";

    public static string WeightsFileName(int attempt) => $"weights-attempt-{attempt}.pt";

    /// <summary>"attempt-2-epoch-0003": how notes and messages name a checkpoint.</summary>
    public static string DisplayName(CheckpointRef checkpoint) =>
        Path.GetFileNameWithoutExtension(checkpoint.Location.Split('/')[^1]);

    /// <summary>The absolute path of a store-relative, '/'-separated location.</summary>
    public string PathOf(string location) => PathOf(Root, location);

    private static string PathOf(string root, string location)
    {
        var segments = location.Split('/');
        if (segments.Any(s => s is "" or "." or ".." || s.Contains('\\')))
            throw new ArgumentException($"'{location}' is not a location inside a checkpoint store", nameof(location));
        return Path.Combine([Path.GetFullPath(root), .. segments]);
    }

    private string FolderOf(string trialId) => PathOf(trialId);

    // ---- writing ----------------------------------------------------------------------------------------------------

    /// <summary>Writes what it takes to continue <paramref name="spec"/>'s trial exactly after its last epoch
    /// (history.Count epochs done): the model's parameters and buffers, the optimizer's state (SGD momentum buffers and
    /// learning rate), the plateau schedule's state, the epoch history and the spec's fingerprint. Older checkpoints of
    /// the attempt stay until <see cref="PruneOlder"/>: the newest file is not yet the record a resume can count on.</summary>
    public CheckpointRef Save(TrialSpec spec, int attempt, nn.Module model, optim.Optimizer optimizer, PlateauState plateau,
        IReadOnlyList<EpochMetrics> history)
    {
        if (attempt < 1) throw new ArgumentOutOfRangeException(nameof(attempt), attempt, "attempts count from 1");
        if (history.Count == 0 || history[^1].Epoch != history.Count)
            throw new ArgumentException("the history must hold epochs 1..E in order", nameof(history));
        int epoch = history.Count;
        var trialId = spec.Key.Id;
        var location = $"{trialId}/{CheckpointFileName(attempt, epoch)}";
        var path = PathOf(location);
        string sha = "";
        DurableFile.Write(path, file => sha = CheckpointCodec.Write(file, spec, attempt, epoch, model, optimizer, plateau, history));
        return new CheckpointRef(attempt, epoch, location, sha);
    }

    /// <summary>
    /// Deletes the checkpoints of <paramref name="kept"/>'s attempt that are older than it (and the temporary files a
    /// killed writer of those epochs left), keeping it and anything newer. Called once <paramref name="kept"/> is the
    /// record a resume will look for: on a cluster when the trial's journal holds it — a node cut off from the
    /// coordinator keeps training and saving, and had it deleted the journaled checkpoint for newer ones the journal
    /// never heard of, the re-run elsewhere would find nothing to resume from; alone (train-one) as soon as it is saved.
    /// </summary>
    public void PruneOlder(CheckpointRef kept)
    {
        var folder = Path.GetDirectoryName(PathOf(kept.Location))!;
        if (!Directory.Exists(folder)) return;
        var prefix = $"attempt-{kept.Attempt}-epoch-";
        foreach (var file in Directory.EnumerateFiles(folder))
        {
            var name = Path.GetFileName(file);
            var checkpoint = name.StartsWith(prefix, StringComparison.Ordinal) && name.EndsWith(CheckpointExtension, StringComparison.Ordinal);
            var leftover = name.StartsWith("." + prefix, StringComparison.Ordinal) && name.EndsWith(DurableFile.TempSuffix, StringComparison.Ordinal);
            if (!checkpoint && !leftover) continue;
            var digits = name.AsSpan((leftover ? 1 : 0) + prefix.Length);
            if (digits.Length < 4 || !int.TryParse(digits[..4], out var epoch)) continue;
            // A temp file of the kept epoch is a dead writer's (the kept file is whole); one of a newer epoch may be
            // the training thread writing right now.
            if (checkpoint ? epoch < kept.Epoch : epoch <= kept.Epoch) TryDelete(file);
        }
    }

    private static void TryDelete(string file)
    {
        try
        {
            File.Delete(file);
        }
        catch (IOException)
        {
            // Another process of the same attempt may hold it; the next save tries again.
        }
    }

    // ---- reading ----------------------------------------------------------------------------------------------------

    /// <summary>The checkpoints on disk for a trial, newest (highest epoch, then highest attempt) first. Each ref's
    /// Sha256 is what its trailer says ("" where it has none), so a damaged file is still listed and TryLoad says why
    /// it cannot be used.</summary>
    public IReadOnlyList<CheckpointRef> Find(string trialId)
    {
        var folder = FolderOf(trialId);
        if (!Directory.Exists(folder)) return [];
        var found = new List<CheckpointRef>();
        foreach (var file in Directory.EnumerateFiles(folder, "*" + CheckpointExtension))
        {
            var match = CheckpointNamePattern().Match(Path.GetFileName(file));
            if (!match.Success || !int.TryParse(match.Groups[1].Value, out var attempt) || !int.TryParse(match.Groups[2].Value, out var epoch))
                continue;
            found.Add(new CheckpointRef(attempt, epoch, $"{trialId}/{Path.GetFileName(file)}", CheckpointCodec.TrailerSha256(file) ?? ""));
        }
        return found.OrderByDescending(c => c.Epoch).ThenByDescending(c => c.Attempt).ToList();
    }

    [GeneratedRegex(@"^attempt-(\d+)-epoch-(\d+)\.ckpt$")]
    private static partial Regex CheckpointNamePattern();

    /// <summary>The first checkpoint (of <paramref name="trialId"/>, or anywhere in the store when null) whose trial
    /// spec differs from <paramref name="spec"/>, with what differs; null when there is none. Files whose header cannot
    /// be read are left to TryLoad; a *.ckpt that is not a regular file (a pipe, a device) is refused with a
    /// <see cref="UserInputException"/>.</summary>
    public ForeignCheckpoint? FindOtherSpec(TrialSpec spec, string? trialId = null)
    {
        var folder = trialId is null ? Root : FolderOf(trialId);
        if (!Directory.Exists(folder)) return null;
        var fingerprint = TrialFingerprint.Of(spec);
        foreach (var file in CheckpointFilesUnder(folder))
        {
            CheckpointCodec.Header header;
            try
            {
                using var stream = RegularFile.OpenRead(file);
                header = CheckpointCodec.ReadSpecHeader(stream);
            }
            catch (NotARegularFileException)
            {
                // A pipe or a device named like a checkpoint: not a store to train into (said at once, not waited on).
                throw new UserInputException($"{file} is not a regular file (a pipe or a device?), not a checkpoint; " +
                                             "a checkpoint store holds only the files SamCluster writes");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or ArgumentException or OverflowException)
            {
                continue;
            }
            if (header.Fingerprint != fingerprint)
                return new ForeignCheckpoint(Path.GetRelativePath(Root, file).Replace(Path.DirectorySeparatorChar, '/'),
                    TrialFingerprint.Difference(header.SpecJson, TrialFingerprint.Json(spec)));
        }
        return null;
    }

    /// <summary>A store holds trial folders (the id's 4-5 segments) of a few files each: deeper than this, or more
    /// entries than this, is not a checkpoint store (a home folder, a mount of something else).</summary>
    private const int MaxDepth = 16, MaxEntries = 100_000;

    /// <summary>Every *.ckpt under <paramref name="folder"/>, in ordinal order. The walk is bounded: symbolic links are
    /// not followed (a link to a parent makes a loop, a few links per level a fan-out without end), nor is it deeper than
    /// <see cref="MaxDepth"/>, and more than <see cref="MaxEntries"/> entries are refused.</summary>
    private IReadOnlyList<string> CheckpointFilesUnder(string folder)
    {
        var options = new EnumerationOptions
        {
            RecurseSubdirectories = true, MaxRecursionDepth = MaxDepth, IgnoreInaccessible = true,
            AttributesToSkip = FileAttributes.ReparsePoint, // symbolic links, on Unix
        };
        var visited = 0;
        var files = new System.IO.Enumeration.FileSystemEnumerable<string>(folder, (ref System.IO.Enumeration.FileSystemEntry e) => e.ToFullPath(), options)
        {
            ShouldIncludePredicate = (ref System.IO.Enumeration.FileSystemEntry e) =>
            {
                if (++visited > MaxEntries)
                    throw new UserInputException($"{Root} holds more than {MaxEntries:N0} entries: not a checkpoint store (choose a folder of its own)");
                return !e.IsDirectory && e.FileName.EndsWith(CheckpointExtension, StringComparison.Ordinal);
            },
        };
        return files.Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>Checks <paramref name="checkpoint"/> completely (present, whole, checksum against its trailer and
    /// against checkpoint.Sha256, same trial spec, fits the model) and only then loads it into
    /// <paramref name="model"/> and <paramref name="optimizer"/>. On false, <paramref name="problem"/> completes
    /// "checkpoint attempt-A-epoch-E ..." (e.g. "is corrupt (sha256 mismatch)"); the model and optimizer are untouched
    /// unless the failure came while loading the optimizer's state (then rebuild them before training).</summary>
    public bool TryLoad(CheckpointRef checkpoint, TrialSpec spec, nn.Module model, optim.Optimizer optimizer,
        [NotNullWhen(true)] out CheckpointContents? contents, [NotNullWhen(false)] out string? problem)
    {
        contents = null;
        string path;
        try
        {
            path = PathOf(checkpoint.Location);
        }
        catch (ArgumentException)
        {
            problem = $"has an invalid location '{checkpoint.Location}'";
            return false;
        }
        FileStream file;
        try
        {
            // Not a plain open: a FIFO under the checkpoint's name would block it for ever.
            file = RegularFile.OpenRead(path, 1 << 20);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            problem = "is missing";
            return false;
        }
        catch (NotARegularFileException)
        {
            problem = "is not a regular file (a pipe, a device or a folder under its name)";
            return false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problem = $"cannot be read ({e.Message})";
            return false;
        }
        using (file)
        {
            problem = CheckpointCodec.CheckIntegrity(file, checkpoint.Sha256, out var payloadLength);
            if (problem is not null) return false;

            CheckpointCodec.Header header;
            try
            {
                header = CheckpointCodec.ReadHeader(file, payloadLength);
            }
            catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or OverflowException)
            {
                problem = $"is unreadable ({e.Message})";
                return false;
            }
            problem = CheckHeader(header, checkpoint, spec) ?? CheckpointCodec.CheckFits(header, model);
            if (problem is not null) return false;

            CheckpointCodec.LoadModel(file, header, model);
            try
            {
                CheckpointCodec.LoadOptimizer(file, header, payloadLength, optimizer);
            }
            catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException)
            {
                problem = $"has an optimizer state this optimizer cannot take ({e.Message})";
                return false;
            }
            contents = new CheckpointContents(header.TrialId, header.Attempt, header.Epoch, header.DataOrderSeed, header.History, header.Plateau);
            return true;
        }
    }

    /// <summary>Whether the checkpoint is the one asked for: of this trial spec, attempt and epoch, whole in its history.</summary>
    private static string? CheckHeader(CheckpointCodec.Header header, CheckpointRef checkpoint, TrialSpec spec)
    {
        if (header.Fingerprint != TrialFingerprint.Of(spec))
            return $"is of a different trial spec ({TrialFingerprint.Difference(header.SpecJson, TrialFingerprint.Json(spec))})";
        if (header.TrialId != spec.Key.Id) return $"belongs to trial {header.TrialId}";
        if (header.Attempt != checkpoint.Attempt || header.Epoch != checkpoint.Epoch)
            return $"holds attempt {header.Attempt} epoch {header.Epoch}, not what its name says";
        if (header.DataOrderSeed != spec.Seed) return $"has data-order seed {header.DataOrderSeed}, not {spec.Seed}";
        if (header.History.Count != header.Epoch || header.History.Select((m, i) => m.Epoch != i + 1).Any(bad => bad))
            return "is corrupt (its epoch history does not match its epoch)";
        if (header.Epoch > spec.Recipe.Epochs) return $"holds epoch {header.Epoch} of a {spec.Recipe.Epochs}-epoch trial";
        return null;
    }

    // ---- final weights ----------------------------------------------------------------------------------------------

    /// <summary>Writes the model's state dict (parameters and buffers, torchvision's key names) as
    /// &lt;trial id&gt;/weights-attempt-A.pt in PyTorch's zip format (<see cref="TorchStateDictFile"/>), loadable with
    /// torch.load; atomically. Epoch is the epoch the weights are after.</summary>
    public CheckpointRef SaveWeights(string trialId, int attempt, int epoch, nn.Module model)
    {
        if (attempt < 1) throw new ArgumentOutOfRangeException(nameof(attempt), attempt, "attempts count from 1");
        var location = $"{trialId}/{WeightsFileName(attempt)}";
        string sha = "";
        DurableFile.Write(PathOf(location), file =>
        {
            TorchStateDictFile.Write(file, model.state_dict().Select(kv => (kv.Key, kv.Value)));
            file.Flush();
            sha = DurableFile.Sha256Of(file);   // the zip format is written with seeks, so hash what landed
        });
        return new CheckpointRef(attempt, epoch, location, sha);
    }

    /// <summary>Copies a weights file (or any file of the store) to <paramref name="destination"/> atomically, after
    /// checking its bytes against weights.Sha256; throws InvalidDataException (and writes nothing) when they differ,
    /// FileNotFoundException when it is gone.</summary>
    public static void CopyVerified(string storeRoot, CheckpointRef weights, string destination) =>
        DurableFile.CopyVerified(PathOf(storeRoot, weights.Location), weights.Sha256, Path.GetFullPath(destination));

    // ---- clean-up ---------------------------------------------------------------------------------------------------

    /// <summary>Deletes every file of a trial, then the folders its id made that are left empty.</summary>
    public void DeleteTrial(string trialId)
    {
        var folder = FolderOf(trialId);
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        for (var parent = Path.GetDirectoryName(folder); parent is not null && parent.Length > Root.Length
             && parent.StartsWith(Root, StringComparison.Ordinal); parent = Path.GetDirectoryName(parent))
        {
            if (!Directory.Exists(parent) || Directory.EnumerateFileSystemEntries(parent).Any()) break;
            try
            {
                Directory.Delete(parent);
            }
            catch (IOException)
            {
                break;   // another trial's writer just created something in it
            }
        }
    }
}
