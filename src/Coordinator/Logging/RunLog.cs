using System.Collections.Concurrent;
using System.Text;
using Serilog;
using Serilog.Core;
using Serilog.Formatting.Compact;
using Serilog.Sinks.File;
using SamCluster.Hosting.Logging;
using SamCluster.Messages;
using SamCluster.RunStore;

namespace SamCluster.Coordinator.Logging;

/// <summary>
/// The run's Serilog outputs: a console summary, logs/run.clef (CLEF JSON of every event, for Seq or `jq`), and one
/// plain-text file per trial, logs/&lt;trial-id&gt;.log, with every epoch — the file `samcluster tail` follows.
/// Serilog's file sinks swallow write errors, so the files are written through a watch that sees them: a full disk
/// is handed to <c>onDiskFull</c> (which ends the run), whichever file met it.
/// </summary>
public sealed class RunLog : IDisposable
{
    public const string TrialEndMarker = "trial finished:";

    readonly RunFolder _folder;
    readonly Logger _stream;
    readonly ConcurrentDictionary<string, Logger> _trialLogs = new();
    readonly FileWatch _watch;

    /// <summary>Console plus CLEF stream.</summary>
    public ILogger Main { get; }

    /// <summary>For Akka's own log and the host's, demoted where expected (<see cref="AkkaLog"/>): everything Akka sends
    /// to the CLEF stream — Akka logs from Information up (Debug with --verbose), so membership, singleton and sharding
    /// changes are there to diagnose a lost node or a restart; to the console only warnings and errors, one line each
    /// (everything with --verbose); the traces stay in the CLEF stream.</summary>
    public Logger Infrastructure { get; }

    readonly Logger _infrastructureTarget;

    /// <param name="onDiskFull">Told (possibly more than once, from any thread) when a log file could not be written
    /// because its disk is full.</param>
    /// <param name="verbose">Akka's detail on the console too (--verbose).</param>
    public RunLog(RunFolder folder, bool console = true, Action<DiskFullException>? onDiskFull = null, bool verbose = false)
    {
        _folder = folder;
        _watch = new FileWatch(onDiskFull);
        _stream = new LoggerConfiguration().MinimumLevel.Debug()
            .WriteTo.File(new CompactJsonFormatter(), folder.EventLog, hooks: _watch)
            .CreateLogger();
        var main = new LoggerConfiguration().MinimumLevel.Debug()
            .WriteTo.Logger(_stream);
        if (console)
            main = main.WriteTo.Console(restrictedToMinimumLevel: Serilog.Events.LogEventLevel.Information,
                outputTemplate: "{Timestamp:HH:mm:ss} {Message:lj}{NewLine}{Exception}", standardErrorFromLevel: Serilog.Events.LogEventLevel.Error);
        Main = main.CreateLogger();
        var infrastructure = new LoggerConfiguration().MinimumLevel.Debug().WriteTo.Logger(_stream);
        // A write that failed for want of space (the journal's), or because the journal's server cannot be reached, ends
        // the run with one line of its own; the console does not repeat it (run.clef keeps it, with its trace).
        if (console)
            infrastructure = infrastructure.WriteTo.Logger(c => c
                .Filter.ByIncludingOnly(e => AkkaLog.Shown(e, verbose, oursFrom: Serilog.Events.LogEventLevel.Warning))
                .Filter.ByExcluding(e => e.Exception is { } x && (JournalErrors.IsDiskFull(x) || JournalErrors.Unreachable(x) is not null))
                .WriteTo.Console(new AkkaConsole.OneLine(), standardErrorFromLevel: Serilog.Events.LogEventLevel.Error));
        _infrastructureTarget = infrastructure.CreateLogger();
        Infrastructure = AkkaLog.For(_infrastructureTarget);
    }

    /// <summary>logs/run.clef, where <see cref="RecordFailure"/> writes what ended the run.</summary>
    public string EventLogPath => _folder.EventLog;

    /// <summary>Writes what ended the run, with its whole trace, to logs/run.clef only (not the console). False when it
    /// could not be written there (a full disk, an I/O error).</summary>
    public bool RecordFailure(Exception e, string summary)
    {
        var failuresBefore = _watch.Failures;
        _stream.Fatal(e, "The run stopped: {Summary}", summary);
        return _watch.Failures == failuresBefore && File.Exists(_folder.EventLog);
    }

    /// <summary>The per-trial logger (file only; the same events also go to the CLEF stream).</summary>
    public ILogger Trial(TrialKey key) =>
        _trialLogs.GetOrAdd(key.Id, id =>
        {
            var path = _folder.TrialLog(id);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            return new LoggerConfiguration().MinimumLevel.Debug()
                .Enrich.WithProperty("TrialId", id)
                .WriteTo.File(path, outputTemplate: "{Timestamp:yyyy-MM-dd HH:mm:ss.fff} {Message:lj}{NewLine}{Exception}", hooks: _watch)
                .WriteTo.Logger(_stream)
                .CreateLogger();
        });

    /// <summary>Closes the files. What cannot be flushed any more (a full disk: already reported) is dropped rather than
    /// thrown from here, where it would hide why the run ended.</summary>
    public void Dispose()
    {
        foreach (var log in _trialLogs.Values) Quietly(log.Dispose);
        Quietly(() => (Main as IDisposable)?.Dispose());
        Quietly(Infrastructure.Dispose);
        Quietly(_infrastructureTarget.Dispose);
        Quietly(_stream.Dispose);
    }

    static void Quietly(Action dispose)
    {
        try { dispose(); }
        catch (IOException) { }
    }

    /// <summary>Wraps each log file's stream so that write errors, which Serilog's sinks swallow, are seen.</summary>
    sealed class FileWatch(Action<DiskFullException>? onDiskFull) : FileLifecycleHooks
    {
        int _failures;

        public int Failures => Volatile.Read(ref _failures);

        public override Stream OnFileOpened(string path, Stream underlyingStream, Encoding encoding) =>
            new WatchedStream(underlyingStream, e =>
            {
                Interlocked.Increment(ref _failures);
                if (DiskFull.Wrap(e, path) is { } full) onDiskFull?.Invoke(full);
            });
    }

    /// <summary>A write-only pass-through that tells <c>onFailure</c> of every I/O error before rethrowing it.</summary>
    sealed class WatchedStream(Stream inner, Action<IOException> onFailure) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => inner.CanSeek;
        public override bool CanWrite => inner.CanWrite;
        public override long Length => inner.Length;

        public override long Position
        {
            get => inner.Position;
            set => inner.Position = value;
        }

        public override void Write(byte[] buffer, int offset, int count) => Watch(() => inner.Write(buffer, offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            try { inner.Write(buffer); }
            catch (IOException e) { onFailure(e); throw; }
        }

        public override void Flush() => Watch(inner.Flush);

        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);
        public override void SetLength(long value) => inner.SetLength(value);
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) Watch(inner.Dispose);
            base.Dispose(disposing);
        }

        void Watch(Action write)
        {
            try { write(); }
            catch (IOException e) { onFailure(e); throw; }
        }
    }
}
