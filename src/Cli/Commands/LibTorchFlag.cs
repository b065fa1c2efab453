using System.CommandLine;
using SamCluster.Training;

namespace SamCluster.Cli.Commands;

/// <summary>--libtorch, of every command that loads libtorch (node, local, coordinator, train-one, bench, devices): one
/// flag, one meaning.</summary>
public static class LibTorchFlag
{
    public const string Name = "--libtorch";

    public static Option<string?> Create() => new(Name)
    {
        HelpName = "dir",
        Description = $"Bind to the libtorch in this folder, e.g. a PyTorch install's torch/lib (else ${TorchRuntime.LibTorchEnvironmentVariable}); " +
                      "only for a build without bundled libtorch (deploy/gpu/package.sh makes one).",
    };

    /// <summary>Binds TorchSharp to the libtorch the command line (or the environment) names, else to the bundled one;
    /// a choice this build cannot use is one line and exit 2 (<see cref="TorchRuntime.CheckChoice"/>).</summary>
    /// <returns>The folder given (null: the bundled libtorch).</returns>
    public static string? Initialize(ParseResult parse, Option<string?> option)
    {
        var folder = TorchRuntime.ResolveDirectory(parse.GetValue(option));
        TorchRuntime.Initialize(folder);
        return folder;
    }
}
