using System.Diagnostics;
using System.Runtime.InteropServices;
using SamCluster.Tests.Cluster;
using Xunit;
using Xunit.Abstractions;

namespace SamCluster.Tests.BadInput;

/// <summary>The hostile catalogue's read-only file system: --checkpoint-dir on a tmpfs mounted read-only (root only: the
/// test mounts it; skipped, saying so, otherwise) is one line naming the missing right, exit 2, within 10 s, for every
/// command that takes the flag, and `coordinator` leaves the run folder as it was.</summary>
[Collection(InProcessCli.Name)]
public sealed class ReadOnlyCheckpointDirTests(ITestOutputHelper log) : BadInputTest(log)
{
    [SkippableFact]
    public void A_checkpoint_dir_on_a_read_only_file_system_is_refused_by_every_command_before_anything_is_written()
    {
        Skip.If(geteuid() != 0, "mounting a read-only tmpfs needs root");
        var mount = Directory.CreateTempSubdirectory("samcluster-ro-").FullName;
        Sh("mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", mount);
        try
        {
            var grid = ExistingRun();
            var before = FolderSnapshot.Take(OutDir);
            var inside = Path.Combine(mount, "checkpoints");
            string[][] commands =
            [
                ["coordinator", grid, "--out", "run", "--port", ProcessTests.FreePort().ToString(), "--checkpoint-dir", mount],
                ["coordinator", grid, "--out", "run", "--port", ProcessTests.FreePort().ToString(), "--checkpoint-dir", inside],
                ["local", grid, "--out", "run", "--nodes", "1", "--checkpoint-dir", inside],
                ["node", "--coordinator", "127.0.0.1:9", "--devices", "cpu", "--checkpoint-dir", inside],
                ["train-one", "--epochs", "1", "--threads", "1", "--checkpoint-dir", mount],
            ];
            foreach (var args in commands)
            {
                var run = InProcessCli.RunWithin(TimeSpan.FromSeconds(30), Work, args);
                var line = Refused(run, "--checkpoint-dir", "is on a read-only file system", "choose a writable folder");
                Assert.True(run.Elapsed < TimeSpan.FromSeconds(10), $"took {run.Elapsed.TotalSeconds:F0} s\n{run}");
                if (args.Contains(inside)) Assert.Contains($"(it would be made in {mount})", line);
            }
            FolderSnapshot.AssertUnchanged(before, OutDir);
        }
        finally
        {
            Sh("umount", mount);
            Directory.Delete(mount);
        }
    }

    static void Sh(string program, params string[] args)
    {
        using var process = Process.Start(program, args);
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', args)} exited {process.ExitCode}");
    }

    [DllImport("libc")]
    static extern uint geteuid();
}
