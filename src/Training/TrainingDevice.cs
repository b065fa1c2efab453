using System.Text.RegularExpressions;
using SamCluster.Messages;
using TorchSharp;

namespace SamCluster.Training;

/// <summary>Parses and checks device strings: "cpu", "cuda" (= cuda:0) or "cuda:N".</summary>
public static partial class TrainingDevice
{
    [GeneratedRegex(@"^(cpu|cuda)(?::(\d{1,3}))?$")]
    private static partial Regex DevicePattern();

    /// <summary>Syntax only (no torch call): the device type and index, or UserInputException.</summary>
    public static (DeviceType Type, int Index) ParseSyntax(string text)
    {
        var match = DevicePattern().Match(text?.Trim().ToLowerInvariant() ?? "");
        if (!match.Success || (match.Groups[1].Value == "cpu" && match.Groups[2].Success))
            throw new UserInputException($"device '{text}' is not valid (expected cpu, cuda or cuda:N)");
        var index = match.Groups[2].Success ? int.Parse(match.Groups[2].Value) : 0;
        return match.Groups[1].Value == "cpu" ? (DeviceType.CPU, -1) : (DeviceType.CUDA, index);
    }

    /// <summary>Parses and checks the device exists here (initialising the CUDA backend when one is asked for).</summary>
    public static torch.Device Resolve(string text)
    {
        var (type, index) = ParseSyntax(text);
        if (type == DeviceType.CPU) return torch.CPU;
        var device = new torch.Device(DeviceType.CUDA, index);
        TorchRuntime.InitializeDevice(device);
        var count = torch.cuda.device_count();
        if (index >= count)
            throw new UserInputException($"device '{text}' asked for, but this machine has {count} CUDA device(s) (cuda:0..cuda:{count - 1})");
        return device;
    }
}
