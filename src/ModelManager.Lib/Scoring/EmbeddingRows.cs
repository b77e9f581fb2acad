namespace AgeGroupAnomaly.Scoring;

/// <summary>The batch APIs' row shapes (jagged arrays, one contiguous block) as one list of rows.</summary>
internal static class EmbeddingRows
{
    public static ReadOnlyMemory<float>[] From(IReadOnlyList<float[]> embeddings)
    {
        ArgumentNullException.ThrowIfNull(embeddings);
        var rows = new ReadOnlyMemory<float>[embeddings.Count];
        for (int i = 0; i < rows.Length; i++)
        {
            rows[i] = embeddings[i] ?? throw new InvalidEmbeddingException($"Row {i} is null.", i);
        }

        return rows;
    }

    public static ReadOnlyMemory<float>[] From(ReadOnlyMemory<float> block, int dimension)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 1);
        if (block.Length % dimension != 0)
        {
            throw new ArgumentException($"The block holds {block.Length} values, not a whole number of rows of {dimension}.", nameof(block));
        }

        var rows = new ReadOnlyMemory<float>[block.Length / dimension];
        for (int i = 0; i < rows.Length; i++)
        {
            rows[i] = block.Slice(i * dimension, dimension);
        }

        return rows;
    }
}
