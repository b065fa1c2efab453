using SamCluster.Tests.Cluster;
using Xunit;
using Xunit.Abstractions;

namespace SamCluster.Tests.BadInput;

/// <summary>
/// The catalogue of hostile and careless input: every case runs this build's samcluster (in-process) beside a run folder
/// holding results, and must give one `samcluster:` line naming the problem, exit 2, no trace, no raw control character,
/// within 10 s — and leave every file of the run folder as it was.
/// </summary>
[Collection(InProcessCli.Name)]
public sealed class HostileInputCatalogueTests(ITestOutputHelper log) : BadInputTest(log)
{
    /// <summary>What a case may use: the run's grid, grid variants, a free port, a pipe.</summary>
    public sealed class Setup(HostileInputCatalogueTests test, string grid)
    {
        public string Grid => grid;
        public string Work => test.Work;
        public string Port => ProcessTests.FreePort().ToString();

        /// <summary>The run's grid with one line changed (or lines added), as variant.yaml.</summary>
        public string Variant(string from, string to)
        {
            var text = File.ReadAllText(grid);
            Assert.Contains(from, text);
            return test.WriteFile("variant.yaml", text.Replace(from, to));
        }

        /// <summary>The run's grid with several lines changed, as variant.yaml.</summary>
        public string Variant(params (string From, string To)[] changes)
        {
            var text = File.ReadAllText(grid);
            foreach (var (from, to) in changes)
            {
                Assert.Contains(from, text);
                text = text.Replace(from, to);
            }
            return test.WriteFile("variant.yaml", text);
        }

        public string Write(string name, string text) => test.WriteFile(name, text);

        /// <summary>A Fashion-MNIST folder whose four files are pipes nobody writes to.</summary>
        public string DataOfFifos()
        {
            Directory.CreateDirectory(Path.Combine(test.Work, "fifo-data"));
            foreach (var file in new[] { "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz" })
                test.MakeFifo(Path.Combine("fifo-data", file));
            return Path.Combine(test.Work, "fifo-data");
        }

        /// <summary>A folder whose every level links back to itself and its parent three times over (a walk that follows
        /// links never ends), with one pipe named like a checkpoint at its bottom.</summary>
        public string SymlinkFanOut()
        {
            var root = Directory.CreateDirectory(Path.Combine(test.Work, "fan-out")).FullName;
            var level = root;
            for (var depth = 0; depth < 3; depth++)
            {
                foreach (var name in new[] { "a", "b", "c" }) File.CreateSymbolicLink(Path.Combine(level, $"{name}-self"), level);
                File.CreateSymbolicLink(Path.Combine(level, "up"), Path.GetDirectoryName(level)!);
                level = Directory.CreateDirectory(Path.Combine(level, $"level-{depth}")).FullName;
            }
            test.MakeFifo(Path.Combine(Path.GetRelativePath(test.Work, level), "attempt-1-epoch-0001.ckpt"));
            return root;
        }
        public string Fifo() => test.MakeFifo("pipe.yaml");
        public string Folder() => Directory.CreateDirectory(Path.Combine(test.Work, "a-folder.yaml")).FullName;
        public string Csv(string row) => test.WriteFile("results.csv", $"dataset,model,optimizer,repeat,status,train_acc,test_acc,seconds\n{row}\n");
    }

    sealed record Case(Func<Setup, string[]> Args, params string[] Mentions);

    static string[] Local(Setup s, params string[] flags) => LocalOn(s.Grid, flags);
    static string[] LocalOn(string grid, params string[] flags) => With(["local", grid], ["--out", "run", "--nodes", "1"], flags);
    static string[] Coordinator(Setup s, params string[] flags) => With(["coordinator", s.Grid], ["--out", "run", "--port", s.Port], flags);
    static string[] Node(params string[] flags) => With(["node"], ["--coordinator", "127.0.0.1:9", "--devices", "cpu"], flags);
    static string[] TrainOne(params string[] flags) => With(["train-one"], ["--epochs", "1", "--threads", "1"], flags);

    /// <summary>The command, its usual flags with the case's flags put in their place (or added).</summary>
    static string[] With(string[] command, string[] usual, string[] flags)
    {
        var values = new List<KeyValuePair<string, string>>();
        foreach (var pairs in new[] { usual, flags })
            for (var i = 0; i < pairs.Length; i += 2)
            {
                values.RemoveAll(v => v.Key == pairs[i]);
                values.Add(new(pairs[i], pairs[i + 1]));
            }
        return [.. command, .. values.SelectMany(v => new[] { v.Key, v.Value })];
    }

    const string Escape = "\u001b]0;pwned\u0007";

    /// <summary>A YAML list of <paramref name="count"/> distinct small positive numbers (valid lr and rho values).</summary>
    static string Values(int count) => "[" + string.Join(", ", Enumerable.Range(1, count).Select(i => $"{i}e-5")) + "]";

    static readonly Dictionary<string, Case> Cases = new()
    {
        // local: every flag bounded and parsed before anything starts
        ["local --nodes 0"] = new(s => Local(s, "--nodes", "0"), "--nodes must be at least 1"),
        ["local --nodes 100000"] = new(s => Local(s, "--nodes", "100000"), "--nodes must be at most"),
        ["local --nodes two"] = new(s => Local(s, "--nodes", "two"), "'two'", "--nodes"),
        ["local --slots 0"] = new(s => Local(s, "--slots", "0"), "--slots must be at least 1"),
        ["local --slots 1000"] = new(s => Local(s, "--slots", "1000"), "--slots must be at most 16"),
        ["local --threads 0"] = new(s => Local(s, "--threads", "0"), "--threads must be at least 1"),
        ["local --threads 100000"] = new(s => Local(s, "--threads", "100000"), "--threads must be at most"),
        ["local --port -1"] = new(s => Local(s, "--port", "-1"), "--port must be at least 0"),
        ["local --port 70000"] = new(s => Local(s, "--port", "70000"), "--port must be at most 65535"),
        ["local --host with a space"] = new(s => Local(s, "--host", "bad host"), "--host 'bad host' is not a host name or an IP address"),
        ["local --host empty"] = new(s => Local(s, "--host", ""), "--host is empty"),
        ["local --host 999.1.1.1"] = new(s => Local(s, "--host", "999.1.1.1"), "--host '999.1.1.1' is not a host name"),
        ["local --host escape sequence"] = new(s => Local(s, "--host", Escape), "--host '\\e]0;pwned\\x07'"),
        ["local --public-host a_b"] = new(s => Local(s, "--public-host", "a_b"), "--public-host 'a_b'"),
        ["local --out empty"] = new(s => ["local", s.Grid, "--out", "", "--nodes", "1"], "--out must name a folder"),
        ["local --out newline"] = new(s => ["local", s.Grid, "--out", "run\nx", "--nodes", "1"], "--out 'run\\nx' holds a control character"),
        ["local --retries -1"] = new(s => Local(s, "--retries", "-1"), "--retries must be at least 0"),
        ["local --retries 1000"] = new(s => Local(s, "--retries", "1000"), "--retries must be at most 100"),
        ["local --checkpoint-dir empty"] = new(s => Local(s, "--checkpoint-dir", " "), "--checkpoint-dir must name a folder"),
        ["local --devices gpu0"] = new(s => Local(s, "--devices", "gpu0"), "device 'gpu0' is not valid"),
        ["local --libtorch missing"] = new(s => Local(s, "--libtorch", "/no/such/libtorch"), "/no/such/libtorch"),
        ["local unknown flag"] = new(s => Local(s, "--nodez", "2"), "--nodez"),
        ["local --http 70000"] = new(s => Local(s, "--http", "70000"), "--http must be at most 65535"),
        ["local --http -1"] = new(s => Local(s, "--http", "-1"), "--http must be at least 0"),
        ["local --http-host a_b"] = new(s => Local(s, "--http", "0", "--http-host", "a_b"), "--http-host 'a_b'"),
        ["local --http equal to --port"] = new(s => s.Port is var p ? Local(s, "--port", p, "--http", p) : [], "--http", "is the port of --port"),
        ["local --http-host without --http"] = new(s => Local(s, "--http-host", "0.0.0.0"), "--http-host needs --http PORT"),
        // host names are looked up before anything starts, for a few seconds at most (.invalid never resolves: RFC 6761)
        ["local --host that does not resolve"] = new(s => Local(s, "--host", "no-such-host.invalid"), "--host no-such-host.invalid", "resolve to an address"),
        ["local --http-host that does not resolve, --http 0"] = new(s => Local(s, "--http", "0", "--http-host", "no-such-host.invalid"),
            "--http-host no-such-host.invalid", "resolve to an address"),
        // coordinator
        ["coordinator --port 0"] = new(s => ["coordinator", s.Grid, "--out", "run", "--port", "0"], "--port must be at least 1"),
        ["coordinator --port 70000"] = new(s => ["coordinator", s.Grid, "--out", "run", "--port", "70000"], "--port must be at most 65535"),
        ["coordinator --port missing"] = new(s => ["coordinator", s.Grid, "--out", "run"], "--port"),
        ["coordinator --host a..b"] = new(s => Coordinator(s, "--host", "a..b"), "--host 'a..b'"),
        ["coordinator --libtorch missing"] = new(s => Coordinator(s, "--libtorch", "/no/such/libtorch"), "/no/such/libtorch"),
        ["coordinator --public-host -bad"] = new(s => Coordinator(s, "--public-host", "-bad"), "--public-host '-bad'"),
        ["coordinator --retries 101"] = new(s => Coordinator(s, "--retries", "101"), "--retries must be at most 100"),
        ["coordinator --http eighty"] = new(s => Coordinator(s, "--http", "eighty"), "'eighty'", "--http"),
        ["coordinator --health-port 0"] = new(s => Coordinator(s, "--health-port", "0"), "--health-port must be at least 1"),
        ["coordinator --health-port 70000"] = new(s => Coordinator(s, "--health-port", "70000"), "--health-port must be at most 65535"),
        // a failed start changes nothing: every check before the first write to the run folder
        ["coordinator --http equal to --port"] = new(s => s.Port is var p ? Coordinator(s, "--port", p, "--http", p) : [],
            "--http", "is the port of --port on 127.0.0.1", "choose another --http"),
        ["coordinator --health-port equal to --http"] = new(s => s.Port is var p ? Coordinator(s, "--http", p, "--health-port", p) : [],
            "--health-port", "is the port of --http", "choose another --health-port"),
        ["coordinator --health-port equal to --port on 0.0.0.0"] = new(s => s.Port is var p ? Coordinator(s, "--port", p, "--health-port", p, "--health-host", "0.0.0.0") : [],
            "--health-port", "is the port of --port"),
        ["coordinator --checkpoint-dir /proc"] = new(s => Coordinator(s, "--checkpoint-dir", "/proc/self/checkpoints"), "--checkpoint-dir /proc/self/checkpoints is under /proc"),
        ["coordinator --checkpoint-dir /sys"] = new(s => Coordinator(s, "--checkpoint-dir", "/sys"), "--checkpoint-dir /sys is under /sys"),
        ["coordinator --checkpoint-dir a file"] = new(s => Coordinator(s, "--checkpoint-dir", s.Grid), "is a file, not a folder"),
        ["coordinator --checkpoint-dir escape"] = new(s => Coordinator(s, "--checkpoint-dir", "/proc/" + Escape), "--checkpoint-dir '/proc/\\e]0;pwned\\x07'"),
        ["coordinator --tls-cert a pipe"] = new(s => Coordinator(s, "--tls-cert", s.Fifo()), "not a regular file", "not a .pfx certificate"),
        // (on a fresh --out: the run folder's journal.db is missing, which is refused before the data is read)
        ["local data files that are pipes"] = new(s => LocalOn(s.Variant($"path: {s.Work}", $"path: {s.DataOfFifos()}"), "--out", "fresh"),
            "fifo-data/", "not a regular file"),
        ["coordinator --health-host that does not resolve"] = new(s => Coordinator(s, "--health-port", s.Port, "--health-host", "no-such-host.invalid"),
            "--health-host no-such-host.invalid", "resolve to an address"),
        ["coordinator --health-host without --health-port"] = new(s => Coordinator(s, "--health-host", "0.0.0.0"), "--health-host needs --health-port PORT"),
        // node
        ["node --coordinator with a space"] = new(_ => ["node", "--coordinator", "a b:4053"], "--coordinator 'a b:4053' is not HOST:PORT"),
        ["node --coordinator port 99999"] = new(_ => ["node", "--coordinator", "host:99999"], "--coordinator 'host:99999' is not HOST:PORT"),
        ["node --coordinator escape"] = new(_ => ["node", "--coordinator", Escape + ":4053"], "\\e]0;pwned\\x07"),
        ["node --name newline"] = new(_ => Node("--name", "a\nforged line"), "--name 'a\\nforged line'"),
        ["node --threads 100000"] = new(_ => Node("--threads", "100000"), "--threads must be at most"),
        ["node --health-port -5"] = new(_ => Node("--health-port", "-5"), "--health-port must be at least 1"),
        ["node --health-host a_b"] = new(_ => Node("--health-port", "8558", "--health-host", "a_b"), "--health-host 'a_b'"),
        ["node --join-timeout 0"] = new(_ => Node("--join-timeout", "0"), "--join-timeout must be at least 1"),
        ["node --join-timeout huge"] = new(_ => Node("--join-timeout", "1000000000"), "--join-timeout must be at most 86400"),
        ["node --port 70000"] = new(_ => Node("--port", "70000"), "--port must be at most 65535"),
        ["node --checkpoint-dir /sys"] = new(_ => Node("--checkpoint-dir", "/sys/kernel"), "--checkpoint-dir /sys/kernel is under /sys"),
        ["node --tls-cert a pipe"] = new(s => Node("--tls-cert", s.Fifo()), "not a regular file"),
        ["node --host that does not resolve"] = new(_ => Node("--host", "no-such-host.invalid"), "--host no-such-host.invalid", "resolve to an address"),
        ["node --slots 100"] = new(_ => Node("--slots", "100"), "--slots must be at most 16"),
        // grid files: contents
        ["grid nested 30000 deep"] = new(s => LocalOn(s.Write("deep.yaml", "datasets: " + new string('[', 30_000))), "nested more than 32 levels"),
        ["grid lr 1e308"] = new(s => LocalOn(s.Variant("lr: 0.001", "lr: 1e308")), "'recipe.lr' must be at most 10, not 1e308"),
        ["grid lr .inf"] = new(s => LocalOn(s.Variant("lr: 0.001", "lr: .inf")), "'recipe.lr' must be a number, not '.inf'"),
        ["grid momentum 5"] = new(s => LocalOn(s.Variant("lr: 0.001", "lr: 0.001\n  momentum: 5")), "'recipe.momentum' must be below 1, not 5"),
        ["grid epochs 1e9"] = new(s => LocalOn(s.Variant("epochs: 2", "epochs: 1000000000")), "'recipe.epochs' must be at most 10000"),
        ["grid one class"] = new(s => LocalOn(s.Variant("    path:", "    classes: [3]\n    path:")), "needs at least 2 classes"),
        ["grid train_limit below classes"] = new(s => LocalOn(s.Variant("    path:", "    train_limit: 3\n    path:")), "at least the number of classes (5), not 3"),
        ["grid dogs image_size 4"] = new(s => LocalOn(s.Write("dogs.yaml", "datasets: [stanford-dogs]\nmodels: [resnet18]\noptimizers: [sgd]\nrepeats: 1\ndata:\n  stanford-dogs: {path: /data/Images, image_size: 4}\n")),
            "'data.stanford-dogs.image_size' must be at least 8, not 4"),
        ["grid dogs image_size 2048"] = new(s => LocalOn(s.Write("dogs.yaml", "datasets: [stanford-dogs]\nmodels: [resnet18]\noptimizers: [sgd]\nrepeats: 1\ndata:\n  stanford-dogs: {path: /data/Images, image_size: 2048}\n")),
            "image_size 2048 makes the train split", "over 2 GiB"),
        ["grid model name with escapes"] = new(s => LocalOn(s.Variant("models: [resnet18]", "models: [\"resnet\\e]0;pwned\\a\\nforged\"]")), "unknown model 'resnet\\e]0;pwned\\x07\\nforged'"),
        ["grid key with a bell"] = new(s => LocalOn(s.Variant("repeats: 2", "repeats: 2\n\"seed\\a\": 1")), "unknown key 'seed\\x07'"),
        ["grid a folder"] = new(s => LocalOn(s.Folder()), "is a folder, not a grid file"),
        ["grid a pipe"] = new(s => LocalOn(s.Fifo()), "not a regular file"),
        ["grid /dev/zero"] = new(_ => ["local", "/dev/zero", "--out", "run", "--nodes", "1"], "/dev/zero"),
        ["grid binary"] = new(s => LocalOn(s.Write("binary.yaml", "datasets: [fashion-mnist]\0\0\0")), "is a binary file"),
        ["grid two documents"] = new(s => LocalOn(s.Write("two.yaml", File.ReadAllText(s.Grid) + "---\nrepeats: 1\n")), "holds one YAML document"),
        ["grid of a different run"] = new(s => LocalOn(s.Variant("lr: 0.001", "lr: 0.002")), "a run of a different grid", "changes 'lr'", "from 0.001 to 0.002"),
        ["grid dropping a trial of the run"] = new(s => LocalOn(s.Variant("repeats: 2", "repeats: 1")), "no longer has trial fashion-mnist/resnet18/sgd/2"),
        // grids whose lists multiply past the limit: refused from their sizes, before anything is expanded
        ["grid 2,000 lr x 2,000 rho"] = new(s => LocalOn(s.Variant("lr: 0.001\n  rho: 0.05", $"lr: {Values(2000)}\n  rho: {Values(2000)}")),
            "the grid expands to 8,004,000 trials", "(sgd: 2,000 cells + sam: 4,000,000 cells) × 2 repeats", "at most 100,000"),
        ["grid 2,000 lr x 2,000 rho x 1,000 repeats"] = new(s => ["validate", s.Variant(("repeats: 2", "repeats: 1000"),
                ("lr: 0.001\n  rho: 0.05", $"lr: {Values(2000)}\n  rho: {Values(2000)}"))],
            "the grid expands to 4,002,000,000 trials", "× 1,000 repeats", "at most 100,000"),
        ["validate escape in dataset"] = new(s => ["validate", s.Variant("datasets: [fashion-mnist]", "datasets: [\"fashion\\e[2J\"]")], "unknown dataset 'fashion\\e[2J'"),
        // train-one: the grid's rules, as flags
        ["train-one --lr 1e308"] = new(_ => TrainOne("--lr", "1e308"), "--lr must be at most 10"),
        ["train-one --lr Infinity"] = new(_ => TrainOne("--lr", "Infinity"), "--lr must be a finite number"),
        ["train-one --momentum 5"] = new(_ => TrainOne("--momentum", "5"), "--momentum must be below 1"),
        ["train-one one class"] = new(_ => TrainOne("--classes", "3"), "--classes needs at least 2 classes"),
        ["train-one --threads 100000"] = new(_ => TrainOne("--threads", "100000"), "--threads must be at most"),
        ["train-one dataset with newline"] = new(_ => TrainOne("--dataset", "x\nforged"), "--dataset 'x\\nforged' is unknown"),
        ["train-one --checkpoint-dir /sys"] = new(_ => TrainOne("--checkpoint-dir", "/sys"), "--checkpoint-dir /sys is under /sys"),
        ["train-one --checkpoint-dir /proc/self"] = new(_ => TrainOne("--checkpoint-dir", "/proc/self"), "is under /proc"),
        ["train-one --checkpoint-dir with a symlink fan-out"] = new(s => TrainOne("--checkpoint-dir", s.SymlinkFanOut()),
            "level-2/attempt-1-epoch-0001.ckpt", "not a regular file"),
        ["train-one --libtorch elsewhere"] = new(_ => TrainOne("--libtorch", "/no/such/libtorch"), "/no/such/libtorch"),
        // devices: the libtorch it would bind to, checked like every command's
        ["devices --libtorch elsewhere"] = new(_ => ["devices", "--libtorch", "/no/such/libtorch"], "/no/such/libtorch"),
        ["devices unknown flag"] = new(_ => ["devices", "--gpus", "2"], "--gpus"),
        // report: impossible values
        ["report accuracy 150"] = new(s => ["report", s.Csv("fashion-mnist,resnet18,sgd,1,completed,99,150,10")], "column 'test_acc' must be a number from 0 to 100, got '150'"),
        ["report accuracy -50"] = new(s => ["report", s.Csv("fashion-mnist,resnet18,sgd,1,completed,-50,90,10")], "column 'train_acc' must be a number from 0 to 100, got '-50'"),
        ["report negative seconds"] = new(s => ["report", s.Csv("fashion-mnist,resnet18,sgd,1,completed,99,90,-3")], "column 'seconds' must be a number of at least 0, got '-3'"),
        ["report negative repeat"] = new(s => ["report", s.Csv("fashion-mnist,resnet18,sgd,-1,completed,99,90,3")], "column 'repeat' must be an integer of at least 0"),
        ["report NaN"] = new(s => ["report", s.Csv("fashion-mnist,resnet18,sgd,1,completed,NaN,90,3")], "column 'train_acc' must be a number"),
        ["report a pipe"] = new(s => ["report", s.Fifo()], "not a regular file"),
        // tail: nothing to wait for is said at once, not followed forever
        ["tail a trial nobody runs"] = new(_ => ["tail", "run", "fashion-mnist/resnet18/sam/2"], "no coordinator is running that folder"),
        ["tail an id with a newline"] = new(_ => ["tail", "run", "fashion-mnist/resnet18\n/sam/2"], "no trial 'fashion-mnist/resnet18\\n/sam/2'"),
    };

    public static TheoryData<string> CaseNames => new(Cases.Keys);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Each_case_is_one_line_exit_2_within_10_s_and_the_run_folder_is_unchanged(string name)
    {
        var grid = ExistingRun();
        var args = Cases[name].Args(new Setup(this, grid));
        var before = FolderSnapshot.Take(OutDir);
        var run = InProcessCli.RunWithin(TimeSpan.FromSeconds(30), Work, args);
        RefusedWithin(10, run, Cases[name].Mentions);
        var raw = run.Stderr.TrimEnd('\n', '\r').Where(c => char.IsControl(c) && c != '\n').ToList();
        Assert.True(raw.Count == 0, $"raw control characters in the output: {string.Join(", ", raw.Select(c => $"U+{(int)c:X4}"))}\n{run}");
        FolderSnapshot.AssertUnchanged(before, OutDir);
    }

    [Fact]
    public void The_catalogue_covers_every_command_a_user_types()
    {
        var setup = new Setup(this, ExistingRun());
        var commands = Cases.Values.Select(c => c.Args(setup)[0]).ToHashSet();
        Assert.Equal(["coordinator", "devices", "local", "node", "report", "tail", "train-one", "validate"], commands.Order());
    }
}
