using SamCluster.Messages;
using SamCluster.Training;

namespace SamCluster.GpuNode;

/// <summary>Reads what this node trains on for the run's manifest: files only (/proc), no process started and nothing
/// native loaded, so it is safe before torch starts and costs nothing.</summary>
public static class NodeFactsProbe
{
    /// <param name="workers">Trials the node runs at once (devices × slots).</param>
    public static NodeFacts Read(IReadOnlyList<string> devices, int threads, string procRoot = "/proc", int? workers = null) =>
        new(Environment.MachineName, CpuModel(procRoot), Environment.ProcessorCount, threads, devices,
            Gpus(procRoot), GpuDriver(procRoot), TorchRuntime.TorchSharpVersion, TorchRuntime.Describe(), workers);

    /// <summary>The first "model name" of /proc/cpuinfo (x86), else its "Model" line (ARM); null where there is neither.</summary>
    public static string? CpuModel(string procRoot)
    {
        var cpuinfo = Path.Combine(procRoot, "cpuinfo");
        if (!File.Exists(cpuinfo)) return null;
        string? model = null;
        foreach (var line in File.ReadLines(cpuinfo))
        {
            var (key, value) = Split(line);
            if (key == "model name") return value;
            if (key == "Model") model ??= value;
        }
        return model;
    }

    /// <summary>The NVIDIA driver's GPU list: /proc/driver/nvidia/gpus/&lt;bus id&gt;/information, "Model:" lines, by bus id.</summary>
    public static IReadOnlyList<string> Gpus(string procRoot)
    {
        var gpus = Path.Combine(procRoot, "driver", "nvidia", "gpus");
        if (!Directory.Exists(gpus)) return [];
        return Directory.EnumerateDirectories(gpus).Order(StringComparer.Ordinal)
            .Select(dir => Path.Combine(dir, "information"))
            .Where(File.Exists)
            .Select(file => File.ReadLines(file).Select(Split).FirstOrDefault(kv => kv.Key == "Model").Value)
            .OfType<string>()
            .ToList();
    }

    /// <summary>The version number after "Kernel Module" on /proc/driver/nvidia/version's first line.</summary>
    public static string? GpuDriver(string procRoot)
    {
        var version = Path.Combine(procRoot, "driver", "nvidia", "version");
        if (!File.Exists(version)) return null;
        // Proprietary: "... Kernel Module  580.159.04  Release Build ..."; open: "... Kernel Module for x86_64  580.159.04 ...".
        var first = File.ReadLines(version).FirstOrDefault() ?? "";
        var marker = first.IndexOf("Kernel Module", StringComparison.Ordinal);
        if (marker < 0) return null;
        var number = System.Text.RegularExpressions.Regex.Match(first[marker..], @"(?<![\w.])\d+\.\d+(\.\d+)?(?![\w.])");
        return number.Success ? number.Value : null;
    }

    static (string Key, string? Value) Split(string line)
    {
        var colon = line.IndexOf(':');
        return colon < 0 ? (line.Trim(), null) : (line[..colon].Trim(), line[(colon + 1)..].Trim());
    }
}
