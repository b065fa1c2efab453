using System.Reflection;
using System.Runtime.InteropServices;
using SamCluster.Messages;
using TorchSharp;

namespace SamCluster.Training;

/// <summary>Chooses which native libtorch TorchSharp binds to. Call <see cref="Initialize"/> once, before anything
/// touches torch: given a folder (e.g. a PyTorch install's site-packages/torch/lib), its libraries are loaded by full
/// path first, so when TorchSharp then loads LibTorchSharp the dynamic linker finds libc10/libtorch* already loaded
/// under their sonames and binds to those instead of the NuGet copies.</summary>
public static class TorchRuntime
{
    public const string LibTorchEnvironmentVariable = "SAMCLUSTER_LIBTORCH";

    // Load order follows the dependency chain: c10 <- torch_cpu <- (c10_cuda <- torch_cuda) <- torch.
    private static readonly (string File, bool Required)[] Libraries =
    [
        ("libc10.so", true), ("libtorch_cpu.so", true), ("libc10_cuda.so", false), ("libtorch_cuda.so", false), ("libtorch.so", true),
    ];

    private static readonly Lock Gate = new();
    private static readonly Dictionary<string, IntPtr> Preloaded = new();
    private static string? initializedWith;
    private static bool initialized;

    /// <summary>The folder in effect: the flag's value, else SAMCLUSTER_LIBTORCH, else null (the NuGet libtorch).</summary>
    public static string? ResolveDirectory(string? flagValue) =>
        !string.IsNullOrWhiteSpace(flagValue) ? flagValue
        : Environment.GetEnvironmentVariable(LibTorchEnvironmentVariable) is { Length: > 0 } env ? env
        : null;

    public static void Initialize(string? libtorchDir)
    {
        lock (Gate)
        {
            if (initialized)
            {
                if (libtorchDir != initializedWith)
                    throw new InvalidOperationException($"torch runtime already initialised with '{initializedWith ?? "(bundled)"}'");
                return;
            }
            if (libtorchDir is not null) Preload(libtorchDir);
            initializedWith = libtorchDir;
            initialized = true;
        }
    }

    /// <summary>Loads the native backend for the device's type; for CUDA this is where a CPU-only libtorch shows up.</summary>
    public static void InitializeDevice(torch.Device device)
    {
        if (device.type == DeviceType.CUDA && !torch.TryInitializeDeviceType(DeviceType.CUDA))
            throw new UserInputException(
                $"device '{device}' asked for, but CUDA is not available here (this build's libtorch is {(initializedWith is null ? "the bundled one; build with -p:TorchBackend=cuda or pass --libtorch DIR" : $"from {initializedWith}")})");
    }

    private static void Preload(string dir)
    {
        if (!Directory.Exists(dir))
            throw new UserInputException($"libtorch folder '{dir}' does not exist (--libtorch / {LibTorchEnvironmentVariable})");
        var missing = Libraries.Where(l => l.Required && !File.Exists(Path.Combine(dir, l.File))).Select(l => l.File).ToList();
        if (missing.Count > 0)
            throw new UserInputException($"libtorch folder '{dir}' lacks {string.Join(", ", missing)} (expected e.g. a PyTorch install's site-packages/torch/lib)");

        foreach (var (file, _) in Libraries)
        {
            var path = Path.Combine(dir, file);
            if (!File.Exists(path)) continue;
            try
            {
                Preloaded[file] = NativeLibrary.Load(path);
            }
            catch (DllNotFoundException e)
            {
                throw new UserInputException($"cannot load {path}: {e.Message.Split('\n')[0]}");
            }
        }
        // TorchSharp also asks for "torch_cpu" / "torch_cuda" by name relative to its assembly; answer with the
        // preloaded handles so a second copy from the app folder is never mapped next to ours.
        try
        {
            NativeLibrary.SetDllImportResolver(typeof(torch).Assembly, ResolveFromPreloaded);
        }
        catch (InvalidOperationException)
        {
            // A resolver is already set (by TorchSharp or a host); soname preloading alone still applies.
        }
    }

    private static IntPtr ResolveFromPreloaded(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        var file = name.StartsWith("lib", StringComparison.Ordinal) ? name : "lib" + name;
        if (!file.EndsWith(".so", StringComparison.Ordinal)) file += ".so";
        return Preloaded.TryGetValue(file, out var handle) ? handle : IntPtr.Zero;
    }
}
