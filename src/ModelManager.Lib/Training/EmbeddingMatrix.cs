using AgeGroupAnomaly.Compute;
using System.Globalization;

namespace AgeGroupAnomaly.Training;

/// <summary>A checked, contiguous row-major copy of a set of equal-length embeddings.</summary>
internal sealed class EmbeddingMatrix
{
    private EmbeddingMatrix(float[] values, int rows, int dimension)
    {
        Values = values;
        Rows = rows;
        Dimension = dimension;
    }

    public float[] Values { get; }

    public int Rows { get; }

    public int Dimension { get; }

    public ReadOnlySpan<float> Row(int index) => Values.AsSpan(index * Dimension, Dimension);

    public static EmbeddingMatrix FromRows(IReadOnlyList<float[]> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count == 0)
        {
            throw new InvalidEmbeddingException("There are no embeddings: at least one row is needed.");
        }

        int dimension = rows[0]?.Length ?? 0;
        if (dimension == 0)
        {
            throw new InvalidEmbeddingException("Row 0 is null or empty; every embedding needs at least one value.", 0);
        }

        var values = new float[checked(rows.Count * dimension)];
        for (int r = 0; r < rows.Count; r++)
        {
            float[]? row = rows[r];
            if (row is null || row.Length != dimension)
            {
                throw new InvalidEmbeddingException(
                    string.Create(CultureInfo.InvariantCulture, $"Row {r} has {row?.Length ?? 0} values but row 0 has {dimension}; all embeddings must have the same dimension."),
                    r);
            }

            row.CopyTo(values, r * dimension);
        }

        return Checked(values, rows.Count, dimension);
    }

    public static EmbeddingMatrix FromContiguous(ReadOnlyMemory<float> values, int dimension)
    {
        if (dimension < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(dimension), dimension, $"dimension is {dimension}; it must be at least 1.");
        }

        if (values.Length == 0)
        {
            throw new InvalidEmbeddingException("There are no embeddings: at least one row is needed.");
        }

        if (values.Length % dimension != 0)
        {
            throw new InvalidEmbeddingException(
                string.Create(CultureInfo.InvariantCulture, $"{values.Length} values do not divide into rows of dimension {dimension}."));
        }

        return Checked(values.ToArray(), values.Length / dimension, dimension);
    }

    private static EmbeddingMatrix Checked(float[] values, int rows, int dimension)
    {
        FiniteValues.EnsureFinite(values, dimension);
        return new EmbeddingMatrix(values, rows, dimension);
    }
}
