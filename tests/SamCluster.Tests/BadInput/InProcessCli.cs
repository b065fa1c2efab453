using System.Diagnostics;
using System.Text;
using SamCluster.Cli;
using SamCluster.Tests.Cluster;
using Xunit;

namespace SamCluster.Tests.BadInput;

/// <summary>
/// Runs this build's samcluster in this process, through <see cref="Program.Invoke"/> (the path Main takes) with what it
/// prints captured: a check of <see cref="Cli"/>'s contract then costs the command, not the start of a .NET process.
/// <para>A command resolves relative paths (--out run, grid.yaml) against the working folder and reads environment
/// variables ($SAMCLUSTER_JOURNAL, $SAMCLUSTER_LIBTORCH, $XDG_STATE_HOME), both the process's: a run sets them for its
/// duration and puts them back after, one run at a time. Other tests run meanwhile: the processes they start get the
/// folder and values the tests began with (<see cref="ChildProcessRuntime"/>), and the in-process tests beside these
/// read neither. Handing every command a folder and an environment of its own instead would reach into every command
/// and library that opens a path, for the tests' sake.</para>
/// <para>A command also sets torch's process-wide state (its thread count: `node --threads`), which changes the order
/// of floating-point sums: so these tests share <see cref="Training.TorchGlobalState"/>'s collection and never run beside
/// a test that trains in this process and compares figures bit for bit.</para>
/// </summary>
public static class InProcessCli
{
    public const string Name = Training.TorchGlobalState.Name;

    static readonly Lock OneAtATime = new();

    public static CliRun Run(string workDir, params string[] args) => RunWithin(Cli.DefaultLimit, workDir, null, args);

    public static CliRun RunWithin(TimeSpan limit, string workDir, params string[] args) => RunWithin(limit, workDir, null, args);

    /// <param name="environment">Variables to set (a null value removes one) for this run only.</param>
    public static CliRun RunWithin(TimeSpan limit, string workDir, IReadOnlyDictionary<string, string?>? environment, params string[] args)
    {
        environment ??= new Dictionary<string, string?>();
        lock (OneAtATime)
        {
            var outerDirectory = Directory.GetCurrentDirectory();
            var outerValues = environment.Keys.ToDictionary(name => name, Environment.GetEnvironmentVariable);
            var (stdout, stderr) = (new CapturedText(), new CapturedText());
            try
            {
                Directory.SetCurrentDirectory(workDir);
                foreach (var (name, value) in environment) Environment.SetEnvironmentVariable(name, value);
                var clock = Stopwatch.StartNew();
                // On a thread of its own, so that a command that hangs fails its test at the limit instead of holding the
                // whole run; such a thread cannot be stopped from outside and is left behind.
                var invocation = Task.Factory.StartNew(() => Program.Invoke(args, stdout, stderr), TaskCreationOptions.LongRunning);
                if (!invocation.Wait(limit))
                    Assert.Fail($"samcluster {string.Join(' ', args)} did not return within {limit.TotalSeconds:F0} s\n--- stderr:\n{stderr}\n--- stdout:\n{stdout}");
                return new CliRun(args, invocation.Result, stdout.ToString(), stderr.ToString(), clock.Elapsed);
            }
            finally
            {
                Directory.SetCurrentDirectory(outerDirectory);
                foreach (var (name, value) in outerValues) Environment.SetEnvironmentVariable(name, value);
            }
        }
    }

    /// <summary>One stream's text, safe to read while threads a command left behind may still write to it.</summary>
    sealed class CapturedText : TextWriter
    {
        readonly StringBuilder _text = new();

        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value) { lock (_text) _text.Append(value); }
        public override void Write(string? value) { lock (_text) _text.Append(value); }
        public override void Write(char[] buffer, int index, int count) { lock (_text) _text.Append(buffer, index, count); }
        public override void Write(ReadOnlySpan<char> buffer) { lock (_text) _text.Append(buffer); }

        public override string ToString() { lock (_text) return _text.ToString(); }
    }
}
