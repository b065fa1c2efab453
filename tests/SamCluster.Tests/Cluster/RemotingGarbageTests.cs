using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Xunit;
using Xunit.Abstractions;

namespace SamCluster.Tests.Cluster;

/// <summary>Issue 14, point 3: whatever reaches the coordinator's remoting port that is not Akka — random bytes, an
/// HTTP request, well-framed nonsense, a frame that never ends, a connection that never speaks — costs that connection only: the coordinator
/// keeps running and finishes its grid, every trial once, exit 0, and its console shows no stack trace and no error line.</summary>
[Collection(ProcessLanes.Services)]
public sealed class RemotingGarbageTests(ITestOutputHelper output) : IDisposable
{
    readonly string _work = Directory.CreateTempSubdirectory("samcluster-garbage-").FullName;

    [Fact]
    public void Garbage_on_the_remoting_port_leaves_the_grid_to_finish()
    {
        var clock = Stopwatch.StartNew();
        // 2 trials: the garbage is sent within a second or two of the first one's start, long before the grid ends.
        var grid = ProcessTests.WriteTinyGrid(_work, optimizers: "[sgd, sam]", repeats: 1, epochs: 2);
        var outDir = Path.Combine(_work, "run");
        var port = ProcessTests.FreePort();
        var console = new ConcurrentQueue<string>();
        using var local = ProcessTests.Start(output, console, "local", grid, "--out", outDir, "--port", port.ToString(), "--nodes", "1", "--threads", "1");
        Assert.True(ProcessTests.WaitFor(() => console.Any(l => l.Contains("Coordinator up at")), TimeSpan.FromMinutes(2)), "the coordinator did not come up");
        // The node has joined and a trial runs: the garbage arrives while the grid is under way, beside a live association.
        var epochs = Path.Combine(outDir, "logs", "fashion-mnist");
        Assert.True(ProcessTests.WaitFor(() => Directory.Exists(epochs)
            && Directory.EnumerateFiles(epochs, "*.log", SearchOption.AllDirectories).Any(), TimeSpan.FromMinutes(2)), "no trial started");

        // Opened first and kept open until the grid is done: a peer that connects and never says a word.
        using var silent = Connect(port);
        // A frame header announcing 1,000 bytes (Akka's frames: a 4-byte little-endian length), then 10 of them, then
        // silence: the frame decoder waits for the rest.
        using var unfinished = Connect(port);
        unfinished.GetStream().Write([.. BitConverter.GetBytes(1000), .. new byte[10]]);
        // An HTTP request, as a scanner or a misdirected health check sends one; whatever comes back is read and dropped.
        using (var http = Connect(port))
        {
            http.GetStream().Write(Encoding.ASCII.GetBytes($"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: garbage-test\r\nConnection: close\r\n\r\n"));
            output.WriteLine($"HTTP GET answered with {DrainFor(http, TimeSpan.FromSeconds(3))} bytes");
        }
        // Random bytes, in several connections: some begin with a length the decoder refuses, some with one it waits on.
        var random = new Random(14);
        for (var i = 0; i < 5; i++)
        {
            using var noise = Connect(port);
            var bytes = new byte[i == 0 ? 64 * 1024 : random.Next(1, 4096)];
            random.NextBytes(bytes);
            try { noise.GetStream().Write(bytes); }
            catch (IOException) { } // the coordinator closed it first: that is its answer to garbage
            DrainFor(noise, TimeSpan.FromMilliseconds(500));
        }
        // Well-framed nonsense: a length the decoder accepts, then random bytes where Akka expects its handshake PDU.
        for (var i = 0; i < 3; i++)
        {
            using var framed = Connect(port);
            var payload = new byte[random.Next(1, 2048)];
            random.NextBytes(payload);
            try { framed.GetStream().Write([.. BitConverter.GetBytes(payload.Length), .. payload]); }
            catch (IOException) { }
            DrainFor(framed, TimeSpan.FromMilliseconds(500));
        }
        // The coordinator still answers: a new connection is accepted after all of that.
        using (Connect(port)) { }
        var garbageSentAt = clock.Elapsed;
        var finishedBeforeTheGarbageEnded = FinishedRows(outDir);

        Assert.True(local.WaitForExit(TimeSpan.FromMinutes(4)), "local did not finish the grid in 4 minutes after the garbage");
        local.WaitForExit();
        output.WriteLine($"garbage sent {garbageSentAt.TotalSeconds:F0} s in; grid finished after {clock.Elapsed.TotalSeconds:F0} s");
        Assert.Equal(0, local.ExitCode);
        Assert.True(finishedBeforeTheGarbageEnded < 2, "the grid was done before the garbage: the test proved nothing");
        var rows = File.ReadAllLines(Path.Combine(outDir, "trials.csv")).Skip(1).Where(r => r.Length > 0).ToList();
        Assert.Equal(2, rows.Count);
        Assert.Equal(2, rows.Select(r => string.Join(',', r.Split(',').Take(4))).Distinct().Count());
        Assert.All(rows, r => Assert.Contains(",completed,", r));
        var lines = console.ToList();
        Assert.Contains(lines, l => l.Contains("Grid finished: 2 completed, 0 failed"));
        Assert.DoesNotContain(lines, l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal) || l.Contains("--- End of"));
        // Remoting's complaints about what is no member's connection are warnings, one line each, never errors.
        Assert.DoesNotContain(lines, l => l.Contains("[ERR]"));
        Assert.Contains(lines, l => l.Contains("[WRN]") && (l.Contains("Error caught channel") || l.Contains("Error while decoding incoming Akka PDU")));
    }

    static int FinishedRows(string outDir)
    {
        var csv = Path.Combine(outDir, "trials.csv");
        try { return File.Exists(csv) ? File.ReadAllLines(csv).Skip(1).Count(l => l.Length > 0) : 0; }
        catch (IOException) { return 0; }
    }

    static TcpClient Connect(int port)
    {
        var client = new TcpClient();
        client.Connect("127.0.0.1", port);
        return client;
    }

    /// <summary>Reads whatever the other side sends until it closes or <paramref name="limit"/> passes; the byte count.</summary>
    static int DrainFor(TcpClient client, TimeSpan limit)
    {
        var total = 0;
        var buffer = new byte[4096];
        client.ReceiveTimeout = (int)limit.TotalMilliseconds;
        var deadline = DateTime.UtcNow + limit;
        try
        {
            while (DateTime.UtcNow < deadline)
            {
                var read = client.GetStream().Read(buffer);
                if (read == 0) break;
                total += read;
            }
        }
        catch (IOException) { } // timed out or reset
        return total;
    }

    public void Dispose()
    {
        ProcessTests.KillLeftovers(output);
        Directory.Delete(_work, recursive: true);
    }
}
