using System.Text;

namespace SamCluster.Messages;

/// <summary>Makes text safe to echo on a terminal or in a one-line message: control characters (newlines, escape
/// sequences that retitle or repaint a terminal, NUL, C1 codes) become visible escapes, so a name cannot forge a second
/// line or drive the terminal.</summary>
public static class ConsoleText
{
    /// <summary>"1 epoch", "2 epochs", "0 workers": a count with its noun in the number it takes (<paramref name="many"/>:
    /// the plural where it is not the noun and "s").</summary>
    public static string Count(long n, string one, string? many = null) =>
        $"{n.ToString(System.Globalization.CultureInfo.InvariantCulture)} {(n == 1 ? one : many ?? one + "s")}";

    public static string Escape(string text)
    {
        if (!text.Any(NeedsEscape)) return text;
        var escaped = new StringBuilder(text.Length + 8);
        foreach (var c in text)
            escaped.Append(c switch
            {
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                '\u001b' => "\\e",
                _ when NeedsEscape(c) => c <= 0xFF ? $"\\x{(int)c:x2}" : $"\\u{(int)c:x4}",
                _ => c.ToString(),
            });
        return escaped.ToString();
    }

    /// <summary>Text of several lines (a table printed on stdout) made safe as <see cref="Escape"/> makes one line, its
    /// line breaks kept.</summary>
    public static string EscapeLines(string text) => text.Any(NeedsEscape) ? string.Join('\n', text.Split('\n').Select(Escape)) : text;

    // Bidirectional overrides and line/paragraph separators reorder or break a line as surely as a newline.
    static bool NeedsEscape(char c) =>
        char.IsControl(c) || c is '\u2028' or '\u2029' || (c >= '\u202A' && c <= '\u202E') || (c >= '\u2066' && c <= '\u2069');
}
