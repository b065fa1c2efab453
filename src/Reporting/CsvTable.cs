using System.Globalization;
using System.Text;
using SamCluster.Messages;
using SamCluster.Experiment;

namespace SamCluster.Reporting;

/// <summary>One data row of a CSV file, with its 1-based line number so errors can point at it.</summary>
public sealed class CsvRow
{
    readonly CsvTable table;
    readonly string[] cells;

    internal CsvRow(CsvTable table, string[] cells, int line)
    {
        this.table = table;
        this.cells = cells;
        Line = line;
    }

    public int Line { get; }

    public bool Has(string column) => table.ColumnIndex(column) >= 0;

    /// <summary>The cell of a column that must exist (checked by <see cref="CsvTable.Require"/>).</summary>
    public string Text(string column)
    {
        var index = table.ColumnIndex(column);
        if (index < 0) throw new UserInputException($"{table.Path}: no column '{column}'");
        return index < cells.Length ? cells[index].Trim() : "";
    }

    public string? OptionalText(string column) => Has(column) ? Text(column) : null;

    public double Number(string column)
    {
        var text = Text(column);
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
            throw Bad(column, text, "a number");
        return value;
    }

    public double? OptionalNumber(string column) => Has(column) && Text(column).Length > 0 ? Number(column) : null;

    /// <summary>A number that can only be in [<paramref name="min"/>, <paramref name="max"/>] (an accuracy of 150 % or
    /// a negative time is a damaged or hand-edited file, and would make every statistic a lie).</summary>
    public double Number(string column, double min, double max)
    {
        var value = Number(column);
        if (value < min || value > max) throw Bad(column, Text(column), Range(min, max));
        return value;
    }

    public double? OptionalNumber(string column, double min, double max) =>
        Has(column) && Text(column).Length > 0 ? Number(column, min, max) : null;

    public int Integer(string column, int min = int.MinValue)
    {
        var text = Text(column);
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
            throw Bad(column, text, "an integer");
        if (value < min) throw Bad(column, text, $"an integer of at least {min}");
        return value;
    }

    static string Range(double min, double max) =>
        double.IsPositiveInfinity(max) ? $"a number of at least {min.ToString(CultureInfo.InvariantCulture)}"
        : $"a number from {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}";

    public string NonEmpty(string column)
    {
        var text = Text(column);
        if (text.Length == 0) throw Bad(column, text, "a value");
        return text;
    }

    UserInputException Bad(string column, string text, string expected) =>
        new($"{table.Path}:{Line}: column '{column}' must be {expected}, got '{text}'");
}

/// <summary>A CSV file read into memory: RFC 4180 quoting (commas, doubled quotes and line breaks inside quotes),
/// header row with column names (case-insensitive, any order), empty lines skipped.</summary>
public sealed class CsvTable
{
    readonly Dictionary<string, int> columns;

    CsvTable(string path, string[] header, int headerLine)
    {
        Path = path;
        Header = header;
        HeaderLine = headerLine;
        columns = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < header.Length; i++)
            columns.TryAdd(header[i].Trim(), i);
    }

    public string Path { get; }
    public IReadOnlyList<string> Header { get; }
    public int HeaderLine { get; }
    public List<CsvRow> Rows { get; } = [];

    public int ColumnIndex(string column) => columns.TryGetValue(column, out var i) ? i : -1;

    /// <summary>Throws naming every missing column at once, so the user fixes the header in one go.</summary>
    public void Require(params string[] required)
    {
        var missing = required.Where(c => ColumnIndex(c) < 0).ToList();
        if (missing.Count > 0)
            throw new UserInputException(
                $"{Path}:{HeaderLine}: missing column{(missing.Count > 1 ? "s" : "")} {string.Join(", ", missing.Select(m => $"'{m}'"))}");
    }

    // A results table of a few thousand trials is a few MiB; anything far larger is the wrong file.
    const long MaxBytes = 256L << 20;

    public static CsvTable Read(string path)
    {
        var bytes = InputFile.ReadAllBytes(path, MaxBytes, "a CSV results table");
        using var reader = new StreamReader(new MemoryStream(bytes), System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        return Parse(path, reader.ReadToEnd());
    }

    public static CsvTable Parse(string path, string text)
    {
        CsvTable? table = null;
        foreach (var (cells, line) in Records(path, text))
        {
            if (cells.Length == 1 && cells[0].Trim().Length == 0) continue;   // blank line
            if (table is null)
                table = new CsvTable(path, cells, line);
            else
            {
                if (cells.Length > table.Header.Count)
                    throw new UserInputException(
                        $"{path}:{line}: {cells.Length} cells but the header has {table.Header.Count} columns (unquoted comma?)");
                table.Rows.Add(new CsvRow(table, cells, line));
            }
        }
        return table ?? throw new UserInputException($"{path}: empty file (no header row)");
    }

    /// <summary>Splits text into records; yields each with the line it starts on.</summary>
    static IEnumerable<(string[] Cells, int Line)> Records(string path, string text)
    {
        var cells = new List<string>();
        var cell = new StringBuilder();
        var line = 1;
        var recordLine = 1;
        var inQuotes = false;
        var quotedCell = false;
        var i = 0;
        if (text.Length > 0 && text[0] == '\uFEFF') i = 1;   // UTF-8 byte order mark
        for (; i < text.Length; i++)
        {
            var c = text[i];
            if (inQuotes)
            {
                if (c == '"')
                {
                    if (i + 1 < text.Length && text[i + 1] == '"') { cell.Append('"'); i++; }
                    else inQuotes = false;
                }
                else
                {
                    if (c == '\n') line++;
                    cell.Append(c);
                }
                continue;
            }
            switch (c)
            {
                case '"' when cell.ToString().Trim().Length == 0 && !quotedCell:
                    cell.Clear();
                    inQuotes = quotedCell = true;
                    break;
                case '"':
                    throw new UserInputException($"{path}:{line}: stray quote in an unquoted cell");
                case ',':
                    cells.Add(cell.ToString());
                    cell.Clear();
                    quotedCell = false;
                    break;
                case '\r':
                    break;
                case '\n':
                    cells.Add(cell.ToString());
                    yield return (cells.ToArray(), recordLine);
                    cells.Clear();
                    cell.Clear();
                    quotedCell = false;
                    line++;
                    recordLine = line;
                    break;
                default:
                    if (quotedCell && !char.IsWhiteSpace(c))
                        throw new UserInputException($"{path}:{line}: text after a closing quote");
                    cell.Append(c);
                    break;
            }
        }
        if (inQuotes) throw new UserInputException($"{path}:{recordLine}: quote opened here is never closed");
        if (cell.Length > 0 || cells.Count > 0)
        {
            cells.Add(cell.ToString());
            yield return (cells.ToArray(), recordLine);
        }
    }
}
