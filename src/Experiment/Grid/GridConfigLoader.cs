using System.Text;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace SamCluster.Experiment.Grid;

/// <summary>Reads a grid file (format: deploy/grids/README.md) and validates all of it before anything starts.
/// Load/Parse throw a UserInputException naming file, line and column; Check/CheckText return every problem instead.</summary>
public static partial class GridConfigLoader
{
    // A grid is a few hundred bytes; anything this large is the wrong file (and would be slow to report on).
    const long MaxBytes = 1 << 20;

    public static GridConfig Load(string path) => Check(path).OrThrow();

    /// <param name="fileNameForMessages">Names the grid in messages; relative data paths are taken from its folder.</param>
    public static GridConfig Parse(string yaml, string fileNameForMessages) => CheckText(yaml, fileNameForMessages).OrThrow();

    public static GridCheck Check(string path)
    {
        var problems = new GridProblems(path);
        if (Directory.Exists(path)) problems.AddWithoutLine("is a folder, not a grid file");
        else if (!File.Exists(path)) problems.AddWithoutLine("not found");
        else if (Read(path, problems) is { } bytes && Decode(bytes, problems) is { } text)
            return CheckText(text, path);
        return problems.Result(null);
    }

    public static GridCheck CheckText(string yaml, string fileNameForMessages)
    {
        var problems = new GridProblems(fileNameForMessages);
        yaml = yaml.TrimStart('\uFEFF');   // a byte order mark read as text; YamlDotNet would take it for content
        if (yaml.Contains('\0'))
        {
            problems.AddWithoutLine("is a binary file (it holds NUL bytes), not a YAML grid");
            return problems.Result(null);
        }
        if (RootMapping(yaml, problems) is not { } root) return problems.Result(null);
        var baseDirectory = Path.GetDirectoryName(Path.GetFullPath(fileNameForMessages)) ?? Directory.GetCurrentDirectory();
        return problems.Result(new GridReader(problems, baseDirectory).Read(root));
    }

    static byte[]? Read(string path, GridProblems problems)
    {
        try
        {
            return InputFile.ReadAllBytes(path, MaxBytes, "a grid file");
        }
        catch (SamCluster.Messages.UserInputException e)
        {
            problems.AddWithoutLine(e.Message.StartsWith(path + ": ", StringComparison.Ordinal) ? e.Message[(path.Length + 2)..] : e.Message);
            return null;
        }
    }

    /// <summary>Strict UTF-8 (a BOM is allowed): a binary or Latin-1 file is refused with the line of its first bad byte.</summary>
    static string? Decode(byte[] bytes, GridProblems problems)
    {
        if (Array.IndexOf(bytes, (byte)0) >= 0)
        {
            problems.AddWithoutLine("is a binary file (it holds NUL bytes), not a YAML grid");
            return null;
        }
        try
        {
            return new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException e)
        {
            var offset = Math.Max(0, e.Index);
            var line = 1 + bytes.Take(offset).Count(b => b == (byte)'\n');
            var column = offset - Array.LastIndexOf(bytes, (byte)'\n', Math.Max(0, offset - 1));
            problems.Add(new Mark(offset, line, column), $"is not UTF-8 text (invalid byte 0x{bytes[offset]:X2}); a grid is a YAML text file");
            return null;
        }
    }

    static YamlMappingNode? RootMapping(string yaml, GridProblems problems)
    {
        if (TooDeep(yaml) is { } deepAt)
        {
            problems.Add(deepAt, $"not a grid: nested more than {MaxDepth} levels deep (a grid needs 4)");
            return null;
        }
        var stream = new YamlStream();
        var parser = new Parser(new StringReader(yaml));
        try
        {
            stream.Load(parser);
        }
        catch (YamlException e)
        {
            problems.Add(TabIndentation(yaml, e) ?? e.Start, $"not valid YAML: {WithoutPosition(e)}");
            return null;
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet's scanner fails this way (no YamlException) when the text ends inside a flow collection.
            problems.Add(parser.Current?.Start ?? Mark.Empty, "not valid YAML: the file ends before this '[' or '{' is closed");
            return null;
        }
        if (stream.Documents.Count > 1)
        {
            problems.Add(stream.Documents[1].RootNode.Start, "a grid file holds one YAML document, this one holds several ('---')");
            return null;
        }
        var root = stream.Documents.FirstOrDefault()?.RootNode;
        switch (root)
        {
            case null:
            case YamlScalarNode scalar when YamlSection.IsNull(scalar):
                problems.AddWithoutLine("is empty: a grid needs at least 'datasets', 'models', 'optimizers' and 'repeats'");
                return null;
            case YamlMappingNode mapping:
                return mapping;
            default:
                problems.Add(root.Start, $"a grid is a mapping of keys (datasets:, models:, ...), not {YamlSection.Describe(root)}");
                return null;
        }
    }

    // A grid nests 4 levels (data → dataset → scheduler → key); building the node tree recurses once per level, so
    // tens of thousands of '[' would overflow the stack: the event stream is walked first, flat.
    const int MaxDepth = 32;

    /// <summary>Where the nesting first passes <see cref="MaxDepth"/>, or null. Syntax errors are left to the full load,
    /// which reports them with their position.</summary>
    static Mark? TooDeep(string yaml)
    {
        var parser = new Parser(new StringReader(yaml));
        var depth = 0;
        try
        {
            while (parser.MoveNext())
            {
                switch (parser.Current)
                {
                    case YamlDotNet.Core.Events.MappingStart or YamlDotNet.Core.Events.SequenceStart:
                        if (++depth > MaxDepth) return parser.Current.Start;
                        break;
                    case YamlDotNet.Core.Events.MappingEnd or YamlDotNet.Core.Events.SequenceEnd:
                        depth--;
                        break;
                }
            }
        }
        catch (Exception e) when (e is YamlException or InvalidOperationException)
        {
        }
        return null;
    }

    /// <summary>YamlDotNet reports a tab in the indentation at the start of the enclosing mapping; the tab's own line is
    /// what the user needs.</summary>
    static Mark? TabIndentation(string yaml, YamlException e)
    {
        if (!e.Message.Contains("tab", StringComparison.OrdinalIgnoreCase)) return null;
        var lines = yaml.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var indentation = lines[i].Length - lines[i].TrimStart(' ', '\t').Length;
            var tab = lines[i].IndexOf('\t', 0, indentation);
            if (tab >= 0) return new Mark(0, i + 1, tab + 1);
        }
        return null;
    }

    // YamlDotNet puts "(Line: 3, Col: 5, Idx: 20) - (Line: 3, Col: 6, Idx: 21): " before its message; we print file:line:col.
    static string WithoutPosition(YamlException e)
    {
        var message = PositionPrefix().Replace(e.Message, "");
        if (e.InnerException is { } inner && !string.IsNullOrEmpty(inner.Message) && inner.Message != e.Message)
            message += $" ({PositionPrefix().Replace(inner.Message, "")})";
        return message.TrimEnd('.');
    }

    [GeneratedRegex(@"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\): ")]
    private static partial Regex PositionPrefix();
}
