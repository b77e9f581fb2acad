namespace AgeGroupAnomaly;

/// <summary>A named slice of the embedding whose reconstruction error is reported separately.</summary>
/// <param name="Name">For example "visual".</param>
/// <param name="Start">First index.</param>
/// <param name="Length">Number of values.</param>
public readonly record struct EmbeddingSegment(string Name, int Start, int Length)
{
    /// <summary>One past the last index.</summary>
    public int End => Start + Length;
}
