namespace AgeGroupAnomaly;

/// <summary>An embedding or a set of embeddings is unusable (empty, wrong or mixed dimension, NaN or infinity).</summary>
public sealed class InvalidEmbeddingException : ModelManagerException
{
    /// <summary>Creates an exception with a default message.</summary>
    public InvalidEmbeddingException()
        : base("An embedding or a set of embeddings is unusable (empty, wrong or mixed dimension, NaN or infinity).")
    {
    }

    /// <summary>Creates an exception with the given message.</summary>
    /// <param name="message">What went wrong.</param>
    public InvalidEmbeddingException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception about one row of a set of embeddings.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="rowIndex">The zero-based row at fault.</param>
    public InvalidEmbeddingException(string message, int rowIndex)
        : base(message)
    {
        RowIndex = rowIndex;
    }

    /// <summary>The zero-based row at fault, when one row is to blame.</summary>
    public int? RowIndex { get; }

    /// <summary>Creates an exception with the given message and cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public InvalidEmbeddingException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
