using System.Globalization;
using System.Text;
using CsvHelper;
using SamCluster.Experiment;
using SamCluster.Messages;

namespace SamCluster.Reporting;

/// <summary>One data row of a CSV file, with its 1-based line number so errors can point at it; cells are read by
/// column name and checked, each problem naming file, line and column.</summary>
public sealed class CsvTableRow
{
    readonly CsvTable _table;
    readonly string[] _cells;

    internal CsvTableRow(CsvTable table, string[] cells, int line)
    {
        _table = table;
        _cells = cells;
        Line = line;
    }

    public int Line { get; }

    public bool Has(string column) => _table.ColumnIndex(column) >= 0;

    /// <summary>The cell of a column that must exist (checked by <see cref="CsvTable.Require"/>), trimmed; "" where the
    /// row is shorter than the header.</summary>
    public string Text(string column)
    {
        var index = _table.ColumnIndex(column);
        if (index < 0) throw new UserInputException($"{_table.Path}: no column '{column}'");
        return index < _cells.Length ? _cells[index].Trim() : "";
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

    /// <summary>A name (dataset, model, optimizer, cell): not empty, and without a control character — names are printed
    /// in tables and on terminals, where ESC or BEL would drive the terminal; no run writes one, so the file is damaged or hostile.</summary>
    public string NonEmpty(string column)
    {
        var text = Text(column);
        if (text.Length == 0) throw Bad(column, text, "a value");
        if (ConsoleText.Escape(text) != text) throw Bad(column, text, "a name without control characters");
        return text;
    }

    UserInputException Bad(string column, string text, string expected) =>
        new($"{_table.Path}:{Line}: column '{column}' must be {expected}, got '{text}'");
}

/// <summary>A CSV file read into memory through CsvHelper: RFC 4180 (commas, doubled quotes and line breaks inside
/// quotes), a header row with column names (case-insensitive, any order), blank lines skipped. Malformed quoting and a
/// row wider than the header are refused with file and line, rather than read as something the file does not say.</summary>
public sealed class CsvTable
{
    readonly Dictionary<string, int> _columns;

    CsvTable(string path, string[] header, int headerLine)
    {
        Path = path;
        Header = header;
        HeaderLine = headerLine;
        _columns = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < header.Length; i++)
            _columns.TryAdd(header[i].Trim(), i);
    }

    public string Path { get; }
    public IReadOnlyList<string> Header { get; }
    public int HeaderLine { get; }
    public List<CsvTableRow> Rows { get; } = [];

    public int ColumnIndex(string column) => _columns.TryGetValue(column, out var i) ? i : -1;

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

    public static CsvTable Read(string path) => Parse(path, InputFile.ReadAllBytes(path, MaxBytes, "a CSV results table"));

    public static CsvTable Parse(string path, string text) => Parse(path, Encoding.UTF8.GetBytes(text));

    /// <summary>Reads <paramref name="bytes"/> (UTF-8 unless a byte order mark says otherwise) as CSV.</summary>
    public static CsvTable Parse(string path, byte[] bytes)
    {
        CsvMalformedRecord? malformed = null;
        var options = new CsvReaderOptions
        {
            Separator = ',',
            HasHeader = false,   // the header is the first non-blank row, read here like any other
            TrackLineNumbers = true,
            TrimWhitespace = true,   // so a quote after leading spaces still opens a quoted cell
            OnMalformedRecord = record => malformed ??= record,
        };
        CsvTable? table = null;
        using var reader = CsvReader.Create(bytes, options);
        while (reader.Read())
        {
            if (malformed is { } bad && bad.RecordNumber <= reader.RowNumber)
                throw Malformed(path, bad, reader);
            var line = checked((int)reader.LineNumber);
            var cells = new string[reader.FieldCount];
            for (var i = 0; i < cells.Length; i++) cells[i] = reader.GetString(i) ?? "";
            if (cells.Length == 1 && cells[0].Trim().Length == 0) continue;   // blank line
            if (table is null)
                table = new CsvTable(path, cells, line);
            else
            {
                if (cells.Length > table.Header.Count)
                    throw new UserInputException(
                        $"{path}:{line}: {cells.Length} cells but the header has {table.Header.Count} columns (unquoted comma?)");
                table.Rows.Add(new CsvTableRow(table, cells, line));
            }
        }
        if (malformed is { } last) throw Malformed(path, last, reader: null);
        return table ?? throw new UserInputException($"{path}: empty file (no header row)");
    }

    /// <summary>A quoting problem, on the line where it is (a record can span lines); an unclosed quote on the line of
    /// its record, where the quote opened.</summary>
    static UserInputException Malformed(string path, CsvMalformedRecord bad, CsvReader? reader)
    {
        var line = bad.LineNumber;
        if (reader is not null && bad.Reason is not CsvMalformedReason.UnterminatedQuote)
        {
            // The reader is on the malformed record: count the line breaks between its start and the problem.
            var before = reader.RawRecord[..(int)Math.Clamp(bad.ByteOffset - reader.ByteOffset, 0, reader.RawRecord.Length)];
            line += before.Count((byte)'\n') + before.Count((byte)'\r') - before.Count("\r\n"u8);
        }
        return new UserInputException(bad.Reason switch
        {
            CsvMalformedReason.StrayQuote => $"{path}:{line}: stray quote in an unquoted cell",
            CsvMalformedReason.TextAfterClosingQuote => $"{path}:{line}: text after a closing quote",
            CsvMalformedReason.UnterminatedQuote => $"{path}:{line}: quote opened here is never closed",
            var other => $"{path}:{line}: malformed CSV ({other})",
        });
    }
}

/// <summary>CSV text written through CsvHelper, as every CSV file of the program is: RFC 4180 (a cell holding a comma, a
/// quote or a line break is quoted, its quotes doubled), no formula escaping, each record ended with
/// <paramref name="newLine"/>.</summary>
internal static class CsvText
{
    public static string Write(Action<CsvWriter> write, string newLine = "\n")
    {
        var text = new StringWriter(CultureInfo.InvariantCulture);
        using (var csv = CsvWriter.Create(text, new CsvWriterOptions { NewLine = newLine, Injection = CsvInjection.None }, leaveOpen: true))
        {
            write(csv);
            csv.Flush();
        }
        return text.ToString();
    }
}

/// <summary>Rows of plain text cells as CSV (a cell quoted where it needs to be), for tables written outside this
/// project (`samcluster runs --format csv`), with the writer the result tables use.</summary>
public static class CsvRows
{
    public static string Write(IEnumerable<IReadOnlyList<string>> rows) =>
        CsvText.Write(csv => { foreach (var row in rows) csv.WriteRecord(row.ToArray()); });
}
