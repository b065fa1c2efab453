using System.Reflection;
using System.Runtime.InteropServices;
using SamCluster.Messages;
using TorchSharp;

namespace SamCluster.Training;

/// <summary>Chooses which native libtorch TorchSharp binds to. Call <see cref="Initialize"/> once, before anything
/// touches torch: given a folder (e.g. a PyTorch install's site-packages/torch/lib), its libraries are loaded by full
/// path first, so when TorchSharp then loads LibTorchSharp the dynamic linker finds libc10/libtorch* already loaded
/// under their sonames and binds to those. TorchSharp itself dlopens "torch_cpu"/"torch_cuda" by name when it starts and
/// finds a bundled copy in the app folder first (a second libtorch in the process aborts on duplicate operator
/// registration), so use a build without one: -p:TorchBackend=external. The libtorch must be the version LibTorchSharp
/// was built for (TorchSharp 0.107: libtorch 2.10).</summary>
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
        if (libtorchDir is not null) CheckFolder(libtorchDir);
        else if (!HasBundledLibTorch())
            throw new UserInputException($"this build has no bundled libtorch (TorchBackend=external): pass --libtorch DIR or set {LibTorchEnvironmentVariable}");
        lock (Gate)
        {
            if (initialized)
            {
                if (libtorchDir != initializedWith)
                    throw new InvalidOperationException($"torch runtime already initialised with '{initializedWith ?? "(bundled)"}'");
                return;
            }
            if (libtorchDir is not null) Preload(libtorchDir);
            HostAllocator.KeepFreedMemory();
            initializedWith = libtorchDir;
            initialized = true;
        }
    }

    /// <summary>Loads the native backend for the device's type; for CUDA this is where a CPU-only libtorch shows up.</summary>
    public static void InitializeDevice(torch.Device device)
    {
        if (device.type == DeviceType.CUDA && initializedWith is not null && !Preloaded.ContainsKey("libtorch_cuda.so"))
            throw new UserInputException($"device '{device}' asked for, but libtorch folder '{initializedWith}' has no libtorch_cuda.so");
        if (device.type == DeviceType.CUDA && !torch.TryInitializeDeviceType(DeviceType.CUDA))
            throw new UserInputException(
                $"device '{device}' asked for, but CUDA is not available here (this build's libtorch is {(initializedWith is null ? "the bundled one; build with -p:TorchBackend=cuda or pass --libtorch DIR" : $"from {initializedWith}")})");
    }

    private static bool HasBundledLibTorch() =>
        new[] { AppContext.BaseDirectory, Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native") }
            .Any(dir => File.Exists(Path.Combine(dir, "libtorch_cpu.so")) || File.Exists(Path.Combine(dir, "torch_cpu.dll")));

    private static void CheckFolder(string dir)
    {
        if (!Directory.Exists(dir))
            throw new UserInputException($"libtorch folder '{dir}' does not exist (--libtorch / {LibTorchEnvironmentVariable})");
        var missing = Libraries.Where(l => l.Required && !File.Exists(Path.Combine(dir, l.File))).Select(l => l.File).ToList();
        if (missing.Count > 0)
            throw new UserInputException($"libtorch folder '{dir}' lacks {string.Join(", ", missing)} (expected e.g. a PyTorch install's site-packages/torch/lib)");
    }

    private static void Preload(string dir)
    {
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
    }
}
