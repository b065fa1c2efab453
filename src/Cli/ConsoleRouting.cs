using System.Text;

namespace SamCluster.Cli;

/// <summary>
/// Gives an invocation of the CLI a console of its own inside a process that runs other code too (the tests run
/// commands in-process, beside test classes that write to the console): once installed, Console.Out and Console.Error
/// write to the writers of the invocation the writing code runs in, else to the process's own streams. The writers are
/// held in an AsyncLocal, so the tasks and threads a command starts write to its console too; Serilog's console sink
/// looks up Console.Out and Console.Error at every event, so a command's log lines follow it as well.
/// </summary>
public static class ConsoleRouting
{
    sealed record Writers(TextWriter Out, TextWriter Error);

    static readonly AsyncLocal<Writers?> Current = new();
    static readonly Lock Gate = new();
    static bool Installed;

    /// <summary>Until disposed, what this flow (and what it starts) writes to the console goes to these writers.</summary>
    public static IDisposable To(TextWriter stdout, TextWriter stderr)
    {
        Install();
        var outer = Current.Value;
        Current.Value = new Writers(stdout, stderr);
        return new Scope(outer);
    }

    static void Install()
    {
        lock (Gate)
        {
            if (Installed) return;
            var (processOut, processError) = (Console.Out, Console.Error);
            Console.SetOut(new Router(() => Current.Value?.Out ?? processOut));
            Console.SetError(new Router(() => Current.Value?.Error ?? processError));
            Installed = true;
        }
    }

    sealed class Scope(Writers? outer) : IDisposable
    {
        public void Dispose() => Current.Value = outer;
    }

    /// <summary>A writer that passes each call on to the writer in effect at that moment.</summary>
    sealed class Router(Func<TextWriter> target) : TextWriter
    {
        public override Encoding Encoding => target().Encoding;
        public override void Write(char value) => target().Write(value);
        public override void Write(string? value) => target().Write(value);
        public override void Write(char[] buffer, int index, int count) => target().Write(buffer, index, count);
        public override void Write(ReadOnlySpan<char> buffer) => target().Write(buffer);
        public override void WriteLine() => target().WriteLine();
        public override void WriteLine(string? value) => target().WriteLine(value);
        public override void WriteLine(ReadOnlySpan<char> buffer) => target().WriteLine(buffer);
        public override void Flush() => target().Flush();
    }
}
