namespace AgeGroupAnomaly;

/// <summary>There are too few samples to train a model.</summary>
public sealed class InsufficientSamplesException : ModelManagerException
{
    /// <summary>Creates an exception with a default message.</summary>
    public InsufficientSamplesException()
        : base("There are too few samples to train a model.")
    {
    }

    /// <summary>Creates an exception with the given message.</summary>
    /// <param name="message">What went wrong.</param>
    public InsufficientSamplesException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception that says how many samples there were and how many are needed.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="sampleCount">The samples available.</param>
    /// <param name="requiredCount">The fewest samples that would do.</param>
    public InsufficientSamplesException(string message, int sampleCount, int requiredCount)
        : base(message)
    {
        SampleCount = sampleCount;
        RequiredCount = requiredCount;
    }

    /// <summary>The samples available.</summary>
    public int SampleCount { get; }

    /// <summary>The fewest samples that would do.</summary>
    public int RequiredCount { get; }

    /// <summary>Creates an exception with the given message and cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public InsufficientSamplesException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
