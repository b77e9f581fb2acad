namespace AgeGroupAnomaly;

/// <summary>
/// Weights hold NaN or ±∞ and are refused when written as a checkpoint (a model with such weights
/// would score every embedding as NaN). Loading such a checkpoint raises
/// <see cref="ModelLoadingException"/> with <see cref="ModelLoadFailure.NonFiniteWeights"/> instead.
/// </summary>
public sealed class NonFiniteWeightsException : ModelManagerException
{
    /// <summary>Creates an exception with a default message.</summary>
    public NonFiniteWeightsException()
        : base("The weights hold NaN or infinity.")
    {
    }

    /// <summary>Creates an exception with the given message.</summary>
    /// <param name="message">What went wrong.</param>
    public NonFiniteWeightsException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with the given message and cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public NonFiniteWeightsException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception naming the tensor and the position of the first non-finite value.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="tensorName">The tensor, for example <c>encoder.0.weight</c>.</param>
    /// <param name="index">The zero-based position in the tensor's flat data.</param>
    public NonFiniteWeightsException(string message, string tensorName, int index)
        : base(message)
    {
        TensorName = tensorName;
        Index = index;
    }

    /// <summary>The tensor holding the first non-finite value, when known.</summary>
    public string? TensorName { get; }

    /// <summary>The zero-based position of that value in the tensor's flat data, when known.</summary>
    public int? Index { get; }
}
