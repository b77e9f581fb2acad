namespace AgeGroupAnomaly;

/// <summary>Training failed; the inner exception, if any, is the cause.</summary>
public sealed class AutoencoderTrainingException : ModelManagerException
{
    /// <summary>Creates an exception with a default message.</summary>
    public AutoencoderTrainingException()
        : base("Training failed; the inner exception, if any, is the cause.")
    {
    }

    /// <summary>Creates an exception with the given message.</summary>
    /// <param name="message">What went wrong.</param>
    public AutoencoderTrainingException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with the given message and cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public AutoencoderTrainingException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
