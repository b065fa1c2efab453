using Xunit;
using Xunit.Abstractions;

namespace SamCluster.Tests.BadInput;

/// <summary>
/// The hostile catalogue's cases of secrets, escapes and run folders read by `validate --against` (a sibling of
/// <see cref="HostileInputCatalogueTests"/>, with the same contract): each runs this build's samcluster (in-process)
/// beside a run folder holding results and must give one `samcluster:` line naming the problem, exit 2 — or 1 where
/// the fault is not the user's (an internal error) — no trace, no raw control character on stdout or stderr, no secret,
/// within 10 s, and leave every file of the run folder as it was.
/// </summary>
[Collection(InProcessCli.Name)]
public sealed class SecretsAndEscapesCatalogueTests(ITestOutputHelper log) : BadInputTest(log)
{
    /// <summary>Every secret a case gives holds it; it must appear in nothing printed.</summary>
    const string Secret = "hunter2";

    const string Escape = "\u001b]0;pwned\u0007";

    /// <summary>What a case may use.</summary>
    public sealed class Setup(SecretsAndEscapesCatalogueTests test, string grid)
    {
        public string Grid => grid;

        /// <summary>Another run folder (not the protected one) holding a grid copy and, if given, what makes its run.json.</summary>
        public string RunFolder(string name, Action<string>? makeManifest = null)
        {
            var dir = Directory.CreateDirectory(Path.Combine(test.Work, name)).FullName;
            File.Copy(grid, Path.Combine(dir, "grid.yaml"));
            makeManifest?.Invoke(Path.Combine(dir, "run.json"));
            return dir;
        }

        public string Fifo(string name) => test.MakeFifo(name);

        public string Csv(string row) =>
            test.WriteFile("results.csv", $"dataset,model,optimizer,repeat,status,train_acc,test_acc,seconds\n{row}\n");

        /// <summary>A folder `report --write` fails inside of (its report.md is a folder): an internal error.</summary>
        public string BlockedReport(string name)
        {
            var dir = Directory.CreateDirectory(Path.Combine(test.Work, name)).FullName;
            Directory.CreateDirectory(Path.Combine(dir, "report.md"));
            File.WriteAllText(Path.Combine(dir, "trials.csv"),
                "dataset,model,optimizer,repeat,train_acc,test_acc,seconds\n" +
                "fashion-mnist,resnet18,sgd,1,90,85,10\nfashion-mnist,resnet18,sgd,2,91,86,11\n" +
                "fashion-mnist,resnet18,sam,1,92,87,12\nfashion-mnist,resnet18,sam,2,93,88,13\n");
            return dir;
        }

        public string Work => test.Work;
        public string WriteFile(string name, string text) => test.WriteFile(name, text);
    }

    sealed record Case(Func<Setup, string[]> Args, int ExitCode, string[] Mentions, Func<Setup, Dictionary<string, string?>>? Environment = null);

    static Case Refused(Func<Setup, string[]> args, params string[] mentions) => new(args, 2, mentions);

    static Case Internal(Func<Setup, string[]> args, Func<Setup, Dictionary<string, string?>> environment, params string[] mentions) =>
        new(args, 1, ["internal error", .. mentions], environment);

    static readonly Dictionary<string, Case> Cases = new()
    {
        // validate --against: what is not a run folder's manifest is said in one line, at once
        ["validate --against a folder without run.json"] = Refused(s => ["validate", s.Grid, "--against", s.RunFolder("no-manifest")],
            "is not a SamCluster run folder (no run.json)"),
        ["validate --against run.json -> /dev/zero"] = Refused(s => ["validate", s.Grid, "--against", s.RunFolder("zero", m => File.CreateSymbolicLink(m, "/dev/zero"))],
            "run.json", "is not a regular file"),
        ["validate --against run.json a FIFO"] = Refused(s => ["validate", s.Grid, "--against", s.RunFolder("fifo", _ => s.Fifo("fifo/run.json"))],
            "run.json", "not a regular file"),
        ["validate --against run.json a folder"] = Refused(s => ["validate", s.Grid, "--against", s.RunFolder("folder", m => Directory.CreateDirectory(m))],
            "run.json", "is a folder"),
        ["validate --against run.json of binary garbage"] = Refused(s => ["validate", s.Grid, "--against", s.RunFolder("garbage", m => File.WriteAllBytes(m, [0x1b, 0x5d, 0, 0xff, 7]))],
            "run.json", "is not a SamCluster run manifest"),
        // report: names that would drive the terminal are refused, not printed
        ["report dataset with an escape sequence"] = Refused(s => ["report", s.Csv("\"fashion\u001b[2J\u001b]0;pwned\u0007\",resnet18,sgd,1,completed,90,85,10")],
            "column 'dataset' must be a name without control characters", "fashion\\e[2J\\e]0;pwned\\x07"),
        ["report model with a bell, as csv"] = Refused(s => ["report", s.Csv("fashion-mnist,\"resnet\u000718\",sgd,1,completed,90,85,10"), "--format", "csv"],
            "column 'model' must be a name without control characters"),
        ["report optimizer with a C1 code, as json"] = Refused(s => ["report", s.Csv("fashion-mnist,resnet18,\"sgd\u009b2J\",1,completed,90,85,10"), "--format", "json"],
            "column 'optimizer' must be a name without control characters"),
        // secrets: never echoed, whatever the line says
        ["secret flag on a command without one, colon form"] = Refused(s => ["validate", s.Grid, "--tls-password:" + Secret],
            "--tls-password:***"),
        ["secret flag on a command without one, equals form"] = Refused(s => ["report", s.Work, "--tls-password=" + Secret],
            "--tls-password=***"),
        ["journal with a bad keyword and a quoted PSW"] = Refused(s => ["coordinator", s.Grid, "--out", "run", "--port", "4053",
            "--journal", $"Host=db;PSW='{Secret};x=y';Hots=x;Database=d"], "'hots' is not one of its keywords"),
        ["journal that cannot be parsed, with a password"] = Refused(s => ["coordinator", s.Grid, "--out", "run", "--port", "4053",
            "--journal:Host=db;Password='" + Secret], "--journal is not a PostgreSQL connection string"),
        ["tls certificate missing, password in colon form"] = Refused(s => ["coordinator", s.Grid, "--out", "run", "--port", "4053",
            "--tls-cert", Path.Combine(s.Work, "no-such.pfx"), "--tls-password:" + Secret], "no-such.pfx"),
        // internal errors: one line, escaped, even when the trace has nowhere to go
        ["internal error with an escape sequence in its path"] = Internal(s => ["report", s.BlockedReport("esc" + Escape), "--write"],
            s => new() { ["XDG_STATE_HOME"] = Path.Combine(s.Work, "state") }, "IOException", "esc\\e]0;pwned\\x07", "(trace in "),
        ["internal error whose error log cannot be written"] = Internal(s => ["report", s.BlockedReport("blocked" + Escape), "--write"],
            s => new() { ["XDG_STATE_HOME"] = s.WriteFile("not-a-folder", "a file where the state folder should be") },
            "IOException", "(no trace kept: the error log ", "cannot be written"),
    };

    public static TheoryData<string> CaseNames => new(Cases.Keys);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Each_case_is_one_line_with_no_raw_control_character_or_secret_within_10_s_and_the_run_folder_is_unchanged(string name)
    {
        var setup = new Setup(this, ExistingRun());
        var @case = Cases[name];
        var args = @case.Args(setup);
        var before = FolderSnapshot.Take(OutDir);
        var run = InProcessCli.RunWithin(TimeSpan.FromSeconds(30), Work, @case.Environment?.Invoke(setup), args);
        if (@case.ExitCode == 2) Cli.AssertRefused(run, Log, @case.Mentions);
        else Cli.AssertFailed(run, Log, @case.Mentions);
        Assert.True(run.Elapsed < TimeSpan.FromSeconds(10), $"took {run.Elapsed.TotalSeconds:F0} s");
        AssertNoRawControlCharacter(run);
        Assert.DoesNotContain(Secret, run.Stdout + run.Stderr);
        FolderSnapshot.AssertUnchanged(before, OutDir);
    }

    static void AssertNoRawControlCharacter(CliRun run)
    {
        var raw = (run.Stdout + run.Stderr).Where(c => char.IsControl(c) && c != '\n').ToList();
        Assert.True(raw.Count == 0, $"raw control characters in the output: {string.Join(", ", raw.Select(c => $"U+{(int)c:X4}"))}\n{run}");
    }

    [Fact]
    public void A_report_on_stdout_shows_its_free_text_escaped()
    {
        // A failed trial's reason is free text: shown in the report, escaped on the terminal, never obeyed.
        var csv = WriteFile("results.csv", "dataset,model,optimizer,repeat,status,train_acc,test_acc,seconds,reason\n" +
                                           "fashion-mnist,resnet18,sgd,1,completed,90,85,10,\n" +
                                           "fashion-mnist,resnet18,sgd,2,completed,91,86,11,\n" +
                                           "fashion-mnist,resnet18,sam,1,completed,92,87,12,\n" +
                                           $"fashion-mnist,resnet18,sam,2,failed,,,,\"boom{Escape}\u009b2J\u202Eevil\"\n");
        var run = Run("report", csv);
        Log.WriteLine(run.ToString());
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("| boom\\e]0;pwned\\x07\\x9b2J\\u202eevil |", run.Stdout);
        AssertNoRawControlCharacter(run);
        Assert.DoesNotContain('\u202E', run.Stdout);
    }

    [Fact]
    public void Validate_against_a_run_in_use_says_by_whom_and_still_validates()
    {
        var grid = ExistingRun();
        // Held as a running coordinator holds it: the folder's lock, and .owner naming this process.
        using var held = SamCluster.RunStore.RunFolderLock.Acquire(OutDir, OutDir);
        held.RecordOwner();
        var before = FolderSnapshot.Take(OutDir);
        var run = Run("validate", grid, "--against", OutDir);
        Log.WriteLine(run.ToString());
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains($"{OutDir}: in use by pid {Environment.ProcessId} on ", run.Stdout);
        Assert.Contains("this grid adds nothing", run.Stdout);
        Assert.Equal("", run.Stderr);
        FolderSnapshot.AssertUnchanged(before, OutDir);

        // Not held: not said.
        held.Dispose();
        Assert.DoesNotContain("in use", Run("validate", grid, "--against", OutDir).Stdout);
    }
}
