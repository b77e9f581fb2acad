namespace AgeGroupAnomaly;

/// <summary>A named slice of the embedding whose reconstruction error is reported separately.</summary>
/// <param name="Name">For example "visual".</param>
/// <param name="Start">First index.</param>
/// <param name="Length">Number of values.</param>
public readonly record struct EmbeddingSegment(string Name, int Start, int Length)
{
    /// <summary>One past the last index.</summary>
    /// <exception cref="OverflowException">Start + Length exceeds <see cref="int.MaxValue"/> (<see cref="ModelManagerOptions.Validate"/> refuses such a segment).</exception>
    public int End => checked(Start + Length);

    // Name, Start and Length only: printing End would throw for a segment that validation is about to refuse.
    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append(System.Globalization.CultureInfo.InvariantCulture, $"Name = {Name}, Start = {Start}, Length = {Length}");
        return true;
    }
}
