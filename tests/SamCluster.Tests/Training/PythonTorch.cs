using System.Diagnostics;
using Xunit;

namespace SamCluster.Tests.Training;

/// <summary>Debian's python3 with torch (1.13, the CPU peer), for tests that check our numbers against PyTorch running
/// the same computation: found once per test, and a script run with one argument, its stdout returned.</summary>
static class PythonTorch
{
    /// <summary>A python that imports torch; null when there is none (the test says it skipped).</summary>
    public static string? Find()
    {
        foreach (var candidate in new[] { "python3", "/usr/bin/python3" })
        {
            try
            {
                if (Run(candidate, ["-c", "import torch"], out _, out _) == 0) return candidate;
            }
            catch (System.ComponentModel.Win32Exception)
            {
            }
        }
        return null;
    }

    /// <summary>Runs <paramref name="script"/> with <paramref name="argument"/>; a failure fails the test with its output.</summary>
    public static string RunScript(string python, string script, string argument)
    {
        var exit = Run(python, ["-c", script, argument], out var stdout, out var stderr);
        Assert.True(exit == 0, $"python exited {exit}:\n{stderr}\n{stdout}");
        return stdout;
    }

    static int Run(string file, string[] args, out string stdout, out string stderr)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args) info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        var errors = process.StandardError.ReadToEndAsync();
        stdout = process.StandardOutput.ReadToEnd();
        stderr = errors.Result;
        process.WaitForExit();
        return process.ExitCode;
    }
}
