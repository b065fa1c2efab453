using SamCluster.Cli;
using Serilog;
using Serilog.Sinks.SystemConsole.Themes;
using Xunit;

namespace SamCluster.Tests.BadInput;

/// <summary>What lets the CLI run in-process beside other tests: a flow's console is its own, the tasks and threads it
/// starts included, while other flows write to theirs.</summary>
public sealed class ConsoleRoutingTests
{
    [Fact]
    public async Task Flows_at_the_same_time_each_write_to_their_own_writers_with_the_tasks_and_threads_they_start()
    {
        using var together = new Barrier(2);
        (string Out, string Error) Write(string name)
        {
            var (output, errors) = (new StringWriter(), new StringWriter());
            using (ConsoleRouting.To(output, errors))
            {
                together.SignalAndWait();
                Console.WriteLine($"{name}: line");
                Task.Run(() => Console.Error.WriteLine($"{name}: task")).GetAwaiter().GetResult();
                var thread = new Thread(() => Console.Out.WriteLine($"{name}: thread"));
                thread.Start();
                thread.Join();
                together.SignalAndWait();
            }
            return (output.ToString(), errors.ToString());
        }

        var written = await Task.WhenAll(Task.Run(() => Write("a")), Task.Run(() => Write("b")));

        Assert.Equal(("a: line\na: thread\n", "a: task\n"), written[0]);
        Assert.Equal(("b: line\nb: thread\n", "b: task\n"), written[1]);
    }

    /// <summary>The commands' log lines (node, local, coordinator) are Serilog's: its console sink must look the console
    /// up when it writes, not when it is made.</summary>
    [Fact]
    public void Serilogs_console_sink_writes_to_the_flows_writers()
    {
        var (output, errors) = (new StringWriter(), new StringWriter());
        using (ConsoleRouting.To(output, errors))
        using (var log = new LoggerConfiguration()
                   .WriteTo.Console(outputTemplate: "{Message:l}{NewLine}", theme: ConsoleTheme.None, standardErrorFromLevel: Serilog.Events.LogEventLevel.Error)
                   .CreateLogger())
        {
            log.Information("information");
            log.Error("error");
        }
        Assert.Equal(("information\n", "error\n"), (output.ToString(), errors.ToString()));
    }
}
