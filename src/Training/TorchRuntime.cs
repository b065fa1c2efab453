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
/// registration), so a folder is refused on a build that bundles libtorch, before anything native is loaded; use a
/// build without one: -p:TorchBackend=external (deploy/gpu/package.sh builds such a package). The libtorch must be the
/// version LibTorchSharp was built for (<see cref="ExpectedLibTorch"/>); a folder whose libtorch LibTorchSharp cannot
/// bind to is refused with the dynamic loader's own error and the version found there.</summary>
public static class TorchRuntime
{
    public const string LibTorchEnvironmentVariable = "SAMCLUSTER_LIBTORCH";

    /// <summary>The libtorch line TorchSharp 0.107's LibTorchSharp is compiled against (Directory.Packages.props'
    /// libtorch-cpu-linux-x64; a test keeps the two equal).</summary>
    public const string ExpectedLibTorch = "2.10";


    // Load order follows the dependency chain: c10 <- torch_cpu <- (c10_cuda <- torch_cuda) <- torch.
    private static readonly (string File, bool Required)[] Libraries =
    [
        ("libc10.so", true), ("libtorch_cpu.so", true), ("libc10_cuda.so", false), ("libtorch_cuda.so", false), ("libtorch.so", true),
    ];

    private const string TorchSharpNative = "libLibTorchSharp.so";

    private static readonly Lock Gate = new();
    private static readonly Dictionary<string, IntPtr> Preloaded = new();
    private static string? InitializedWith;
    private static bool IsInitialized;

    /// <summary>TorchSharp's version, as its package names it (0.107.0).</summary>
    public static string TorchSharpVersion =>
        typeof(torch).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(torch).Assembly.GetName().Version?.ToString() ?? "unknown";

    /// <summary>The libtorch in use, or that would be without a flag: "2.10.0 (bundled)", "2.11.0+cu130 (/opt/.../torch/lib)".
    /// Files only, nothing loaded.</summary>
    public static string Describe()
    {
        var folder = IsInitialized ? InitializedWith : ResolveDirectory(null);
        return folder is not null
            ? $"{VersionIn(folder) ?? "unknown version"} ({folder})"
            : $"{BundledVersion() ?? "unknown version"} (bundled)";
    }

    /// <summary>The folder in effect: the flag's value, else SAMCLUSTER_LIBTORCH, else null (the NuGet libtorch).</summary>
    public static string? ResolveDirectory(string? flagValue) =>
        !string.IsNullOrWhiteSpace(flagValue) ? flagValue
        : Environment.GetEnvironmentVariable(LibTorchEnvironmentVariable) is { Length: > 0 } env ? env
        : null;

    /// <summary>The libtorch folder initialised with (null: the bundled one), once <see cref="Initialize"/> ran.</summary>
    public static string? Folder => InitializedWith;

    public static void Initialize(string? libtorchDir)
    {
        CheckChoice(libtorchDir, BundledLibTorch());
        lock (Gate)
        {
            if (IsInitialized)
            {
                if (libtorchDir != InitializedWith)
                    throw new InvalidOperationException($"torch runtime already initialised with '{InitializedWith ?? "(bundled)"}'");
                return;
            }
            if (libtorchDir is not null)
            {
                Preload(libtorchDir);
                ProbeTorchSharp(libtorchDir);
            }
            HostAllocator.KeepFreedMemory();
            InitializedWith = libtorchDir;
            IsInitialized = true;
        }
    }

    /// <summary>Whether this libtorch choice can work with a build whose own libtorch lies in <paramref name="bundled"/>
    /// (null: none): looks at files only, loads nothing, so a refusal comes before anything native or on disk happens.</summary>
    public static void CheckChoice(string? libtorchDir, string? bundled)
    {
        if (libtorchDir is not null && bundled is not null)
            throw new UserInputException(
                $"{Source(libtorchDir)}: this build bundles libtorch ({bundled}) and a process cannot load a second one; " +
                $"for {SourceName(libtorchDir)} use a build without it (the package deploy/gpu/package.sh makes, or dotnet build -p:TorchBackend=external), " +
                $"or leave out {SourceName(libtorchDir)} to use the bundled libtorch");
        if (libtorchDir is null && bundled is null)
            throw new UserInputException($"this build has no bundled libtorch (TorchBackend=external): pass --libtorch DIR or set {LibTorchEnvironmentVariable}");
        if (libtorchDir is not null) CheckFolder(libtorchDir);
    }

    /// <summary>Loads the native backend for the device's type; for CUDA this is where a CPU-only libtorch shows up.</summary>
    public static void InitializeDevice(torch.Device device)
    {
        if (device.type == DeviceType.CUDA && InitializedWith is not null && !Preloaded.ContainsKey("libtorch_cuda.so"))
            throw new UserInputException($"device '{device}' asked for, but libtorch folder '{InitializedWith}' has no libtorch_cuda.so");
        if (device.type == DeviceType.CUDA && !torch.TryInitializeDeviceType(DeviceType.CUDA))
            throw new UserInputException(
                $"device '{device}' asked for, but CUDA is not available here (this build's libtorch is {(InitializedWith is null ? "the bundled one; build with -p:TorchBackend=cuda or pass --libtorch DIR to a build without bundled libtorch" : $"from {InitializedWith}")})");
    }

    /// <summary>The folder of this build's own libtorch (libtorch_cpu.so where the runtime looks for native libraries:
    /// the host's native search folders from the deps file, the program folder, runtimes/linux-x64/native), or null for a
    /// build without one. Files only: nothing is loaded.</summary>
    public static string? BundledLibTorch() =>
        NativeFolders().FirstOrDefault(dir => File.Exists(Path.Combine(dir, "libtorch_cpu.so")) || File.Exists(Path.Combine(dir, "torch_cpu.dll")));

    /// <summary>The version of the bundled libtorch: its NuGet package's, as the deps file records it; null without one.</summary>
    public static string? BundledVersion()
    {
        if (AppContext.GetData("APP_CONTEXT_DEPS_FILES") is not string depsFiles) return null;
        foreach (var deps in depsFiles.Split(';', StringSplitOptions.RemoveEmptyEntries).Where(File.Exists)) // ';' on every OS
        {
            using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(deps));
            if (!json.RootElement.TryGetProperty("libraries", out var libraries)) continue;
            foreach (var library in libraries.EnumerateObject())
                if (library.Name.StartsWith("libtorch-", StringComparison.OrdinalIgnoreCase) && library.Name.Split('/') is [_, var version])
                    return version;
        }
        return null;
    }

    /// <summary>The libtorch version a folder holds, as far as its surroundings say: a PyTorch install's
    /// torch/version.py, a libtorch archive's build-version, or a NuGet package's version folder; null if none does.</summary>
    public static string? VersionIn(string libtorchDir)
    {
        var dir = new DirectoryInfo(Path.GetFullPath(libtorchDir));
        var parent = dir.Parent;
        if (parent is not null)
        {
            var versionPy = Path.Combine(parent.FullName, "version.py"); // site-packages/torch/lib -> torch/version.py
            if (File.Exists(versionPy))
                foreach (var line in File.ReadLines(versionPy))
                    if (line.StartsWith("__version__", StringComparison.Ordinal) && line.Split('=', 2) is [_, var value])
                        return value.Trim().Trim('\'', '"');
            var buildVersion = Path.Combine(parent.FullName, "build-version"); // libtorch/lib -> libtorch/build-version
            if (File.Exists(buildVersion)) return File.ReadLines(buildVersion).FirstOrDefault()?.Trim();
        }
        // ~/.nuget/packages/libtorch-cpu-linux-x64/2.10.0/runtimes/linux-x64/native
        var versionFolder = dir.Parent?.Parent?.Parent;
        if (versionFolder?.Parent?.Name.StartsWith("libtorch", StringComparison.OrdinalIgnoreCase) == true && Version.TryParse(versionFolder.Name, out _))
            return versionFolder.Name;
        return null;
    }

    private static string SourceName(string libtorchDir) =>
        Environment.GetEnvironmentVariable(LibTorchEnvironmentVariable) == libtorchDir ? LibTorchEnvironmentVariable : "--libtorch";

    private static string Source(string libtorchDir) =>
        SourceName(libtorchDir) == LibTorchEnvironmentVariable ? $"{LibTorchEnvironmentVariable}={libtorchDir}" : $"--libtorch {libtorchDir}";

    /// <summary>Where the runtime resolves native libraries by name: the host's list (the deps file's native asset
    /// folders), then the program folder and its runtimes/linux-x64/native.</summary>
    private static IEnumerable<string> NativeFolders()
    {
        var fromHost = (AppContext.GetData("NATIVE_DLL_SEARCH_DIRECTORIES") as string ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return fromHost.Concat([AppContext.BaseDirectory, Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native")])
            .Select(dir => Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir)))
            .Distinct();
    }

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
                throw new UserInputException($"cannot load {path}: {LoaderError(e.Message)}{FoundVersion(dir)}");
            }
        }
    }

    /// <summary>Binds TorchSharp's native library to the preloaded libtorch with every symbol resolved now (RTLD_NOW),
    /// so a libtorch of another ABI is refused here with the loader's own words — .NET and TorchSharp load it lazily,
    /// which would report "not found" without the reason, or end the process at the first missing symbol.</summary>
    private static unsafe void ProbeTorchSharp(string libtorchDir)
    {
        if (!OperatingSystem.IsLinux()) return;
        var native = NativeFolders().Select(dir => Path.Combine(dir, TorchSharpNative)).FirstOrDefault(File.Exists);
        if (native is null) return; // TorchSharp reports its own absence when it starts
        // dlopen and dlerror called through plain function pointers: binding a P/Invoke between the two would itself
        // call dlsym, which clears the error to read.
        var libc = NativeLibrary.Load("libc.so.6");
        var dlopen = (delegate* unmanaged<byte*, int, IntPtr>)NativeLibrary.GetExport(libc, "dlopen");
        var dlerror = (delegate* unmanaged<IntPtr>)NativeLibrary.GetExport(libc, "dlerror");
        const int RtldNow = 2;
        var path = System.Text.Encoding.UTF8.GetBytes(native + "\0");
        IntPtr handle;
        string? error = null;
        fixed (byte* pathBytes = path)
        {
            dlerror(); // clears any earlier error
            handle = dlopen(pathBytes, RtldNow);
            if (handle == IntPtr.Zero) error = Marshal.PtrToStringUTF8(dlerror());
        }
        if (handle != IntPtr.Zero) return; // kept open: TorchSharp's own load then finds it bound
        var torchSharp = typeof(torch).Assembly.GetName().Version is { } v ? $"{v.Major}.{v.Minor}" : "?";
        throw new UserInputException(
            $"TorchSharp {torchSharp} (built for libtorch {ExpectedLibTorch}) cannot bind to the libtorch in {libtorchDir}{FoundVersion(libtorchDir)}: " +
            (error ?? "the loader gave no reason"));
    }

    private static string FoundVersion(string dir) =>
        VersionIn(dir) is { } version ? $" (libtorch {version} found there)" : " (its libtorch version is not recorded beside it)";

    /// <summary>.NET wraps dlopen's message in advice lines; the loader's own words are the last line.</summary>
    private static string LoaderError(string message) =>
        message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? message;
}
