using System.Globalization;

namespace EmbeddingsCli;

/// <summary>A problem in an input file, with the 1-based line it is on.</summary>
internal sealed class CsvFormatException(string path, int line, string problem)
    : Exception($"{path}, line {line}: {problem}")
{
    public int Line { get; } = line;
}

/// <summary>One parsed row: age, optional subject, the vector.</summary>
internal sealed record EmbeddingRow(int Line, double Age, string? Subject, float[] Embedding);

/// <summary>
/// Reads <c>age[,subject],v1,v2,…</c> lines. A header line (first field not a number) is skipped; the
/// subject column is present when the second field is not a number. Every row must have the same
/// number of vector values. The whole file is read and checked before anything is returned.
/// </summary>
internal static class EmbeddingCsv
{
    public static List<EmbeddingRow> Read(string path)
    {
        var rows = new List<EmbeddingRow>();
        int? dimension = null;
        int lineNumber = 0;
        foreach (string raw in File.ReadLines(path))
        {
            lineNumber++;
            string line = raw.Trim();
            if (line.Length == 0)
            {
                continue;
            }

            string[] fields = line.Split(',');
            if (lineNumber == 1 && !IsNumber(fields[0]))
            {
                continue; // header
            }

            if (!double.TryParse(fields[0], NumberStyles.Float, CultureInfo.InvariantCulture, out double age) || !double.IsFinite(age) || age < 0)
            {
                throw new CsvFormatException(path, lineNumber, $"the age '{fields[0]}' is not a finite number of years >= 0.");
            }

            bool hasSubject = fields.Length > 1 && !IsNumber(fields[1]);
            int first = hasSubject ? 2 : 1;
            int count = fields.Length - first;
            if (count < 1)
            {
                throw new CsvFormatException(path, lineNumber, $"too few fields: {fields.Length}; expected age, optional subject, then the embedding values.");
            }

            if (dimension is { } d && count != d)
            {
                throw new CsvFormatException(path, lineNumber, $"{count} embedding values, but earlier lines have {d}.");
            }

            dimension = count;
            var embedding = new float[count];
            for (int i = 0; i < count; i++)
            {
                string field = fields[first + i];
                if (!float.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out embedding[i]) || !float.IsFinite(embedding[i]))
                {
                    throw new CsvFormatException(path, lineNumber, $"value {i + 1} of the embedding ('{field}', column {first + i + 1}) is not a finite number.");
                }
            }

            rows.Add(new EmbeddingRow(lineNumber, age, hasSubject ? fields[1].Trim() : null, embedding));
        }

        if (rows.Count == 0)
        {
            throw new CsvFormatException(path, Math.Max(lineNumber, 1), "the file holds no embedding rows.");
        }

        return rows;
    }

    private static bool IsNumber(string field) => double.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out _);
}
