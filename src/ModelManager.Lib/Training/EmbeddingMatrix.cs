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

    /// <summary>Throws naming the first row that holds NaN or infinity.</summary>
    public static void EnsureFinite(ReadOnlySpan<float> values, int dimension, string what = "Row")
    {
        if (IsAllFinite(values))
        {
            return;
        }

        for (int i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                int row = i / dimension;
                throw new InvalidEmbeddingException(
                    string.Create(CultureInfo.InvariantCulture, $"{what} {row} holds {values[i]} at position {i % dimension}; embeddings must be finite numbers."),
                    row);
            }
        }
    }

    /// <summary>
    /// Whether every value is finite, eight at a time: x − x is 0 for a finite x and NaN for ±∞ or
    /// NaN. Scoring checks every embedding, so this runs once per value scored.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    internal static bool IsAllFinite(ReadOnlySpan<float> values)
    {
        ref float r = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(values);
        var bad = System.Runtime.Intrinsics.Vector256<float>.Zero;
        int i = 0;
        for (; i <= values.Length - 8; i += 8)
        {
            var v = System.Runtime.Intrinsics.Vector256.LoadUnsafe(ref r, (nuint)i);
            bad |= ~System.Runtime.Intrinsics.Vector256.Equals(v - v, System.Runtime.Intrinsics.Vector256<float>.Zero);
        }

        if (bad != System.Runtime.Intrinsics.Vector256<float>.Zero)
        {
            return false;
        }

        for (; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static EmbeddingMatrix Checked(float[] values, int rows, int dimension)
    {
        EnsureFinite(values, dimension);
        return new EmbeddingMatrix(values, rows, dimension);
    }
}
