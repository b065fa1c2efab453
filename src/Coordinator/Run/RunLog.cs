using System.Collections.Concurrent;
using Serilog;
using Serilog.Core;
using Serilog.Formatting.Compact;
using SamCluster.Messages;

namespace SamCluster.Coordinator.Run;

/// <summary>
/// The run's Serilog outputs: a console summary, logs/run.clef (CLEF JSON of every event, for Seq or `jq`), and one
/// plain-text file per trial, logs/&lt;trial-id&gt;.log, with every epoch — the file `samcluster tail` follows.
/// </summary>
public sealed class RunLog : IDisposable
{
    public const string TrialEndMarker = "trial finished:";

    readonly RunFolder _folder;
    readonly Logger _stream;
    readonly ConcurrentDictionary<string, Logger> _trialLogs = new();

    /// <summary>Console plus CLEF stream.</summary>
    public ILogger Main { get; }

    /// <summary>For Akka's own log: everything to the CLEF stream, only warnings and errors to the console, without
    /// their exception traces (a node leaving logs a remoting one; the trace stays in the CLEF stream).</summary>
    public ILogger Infrastructure { get; }

    public RunLog(RunFolder folder, bool console = true)
    {
        _folder = folder;
        _stream = new LoggerConfiguration().MinimumLevel.Debug()
            .WriteTo.File(new CompactJsonFormatter(), folder.EventLog)
            .CreateLogger();
        var main = new LoggerConfiguration().MinimumLevel.Debug()
            .WriteTo.Logger(_stream);
        if (console)
            main = main.WriteTo.Console(restrictedToMinimumLevel: Serilog.Events.LogEventLevel.Information,
                outputTemplate: "{Timestamp:HH:mm:ss} {Message:lj}{NewLine}{Exception}", standardErrorFromLevel: Serilog.Events.LogEventLevel.Error);
        Main = main.CreateLogger();
        var infrastructure = new LoggerConfiguration().MinimumLevel.Debug().WriteTo.Logger(_stream);
        if (console)
            infrastructure = infrastructure.WriteTo.Console(restrictedToMinimumLevel: Serilog.Events.LogEventLevel.Warning,
                outputTemplate: "{Timestamp:HH:mm:ss} [{Level:u3}] {Message:lj}{NewLine}", standardErrorFromLevel: Serilog.Events.LogEventLevel.Error);
        Infrastructure = infrastructure.CreateLogger();
    }

    /// <summary>The per-trial logger (file only; the same events also go to the CLEF stream).</summary>
    public ILogger Trial(TrialKey key) =>
        _trialLogs.GetOrAdd(key.Id, id =>
        {
            var path = _folder.TrialLog(id);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            return new LoggerConfiguration().MinimumLevel.Debug()
                .Enrich.WithProperty("TrialId", id)
                .WriteTo.File(path, outputTemplate: "{Timestamp:yyyy-MM-dd HH:mm:ss.fff} {Message:lj}{NewLine}{Exception}")
                .WriteTo.Logger(_stream)
                .CreateLogger();
        });

    public void Dispose()
    {
        foreach (var log in _trialLogs.Values) log.Dispose();
        (Main as IDisposable)?.Dispose();
        (Infrastructure as IDisposable)?.Dispose();
        _stream.Dispose();
    }
}
