using System.Runtime.InteropServices;

namespace SamCluster.Training;

/// <summary>Makes glibc's malloc keep freed blocks for reuse instead of handing them back to the kernel.
/// By default glibc serves blocks from 128 KiB up (a threshold that only creeps up as blocks are freed) with mmap and
/// trims the heap top soon after a free, so libtorch's CPU activations, gradients and oneDNN scratchpads (hundreds of
/// KiB to a few MiB, freed and allocated again every step) come back as fresh pages the kernel must fault in and zero:
/// 8–12 % of a 28×28 training step was kernel time. Fixed thresholds stop that; the process keeps its peak heap, which
/// is what a caching allocator (PyTorch's CUDA one, or the jemalloc/tcmalloc its CPU tuning guide recommends) does too.
/// Blocks above 32 MiB (glibc's maximum threshold) are still mapped per allocation.</summary>
public static partial class HostAllocator
{
    // mallopt's parameters (glibc's malloc.h: M_TRIM_THRESHOLD, M_MMAP_THRESHOLD).
    private const int TrimThreshold = -1;
    private const int MmapThreshold = -3;
    private const int MaxMmapThreshold = 32 * 1024 * 1024;

    /// <summary>Applies the setting (idempotent: a second call sets the same values); a no-op off glibc, or where the
    /// user already tunes malloc through the environment (their choice wins). Returns whether it was applied.</summary>
    public static bool KeepFreedMemory()
    {
        if (!OperatingSystem.IsLinux() || UserTunesMalloc()) return false;
        try
        {
            // Both, and in this order: fixing one threshold turns off glibc's adjustment of the other.
            return mallopt(MmapThreshold, MaxMmapThreshold) == 1 && mallopt(TrimThreshold, int.MaxValue) == 1;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;   // not glibc (e.g. musl): nothing to tune this way
        }
    }

    private static bool UserTunesMalloc()
    {
        static string Env(string name) => Environment.GetEnvironmentVariable(name) ?? "";
        return Env("GLIBC_TUNABLES").Contains("glibc.malloc.") || Env("MALLOC_MMAP_THRESHOLD_") != ""
            || Env("MALLOC_TRIM_THRESHOLD_") != "" || Env("LD_PRELOAD").Contains("jemalloc") || Env("LD_PRELOAD").Contains("tcmalloc");
    }

    // glibc's soname: mallopt's parameter numbers are glibc's, and elsewhere the load fails and nothing is changed.
    [LibraryImport("libc.so.6", EntryPoint = "mallopt")]
    private static partial int mallopt(int parameter, int value);
}
