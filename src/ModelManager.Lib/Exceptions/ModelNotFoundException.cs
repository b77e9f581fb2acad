namespace AgeGroupAnomaly;

/// <summary>
/// No model record has the id that was asked for. Every call that takes a model id throws this
/// type; it is a <see cref="ModelLoadingException"/> with <see cref="ModelLoadFailure.UnknownModel"/>,
/// so code that handles failed loads handles it too.
/// </summary>
public sealed class ModelNotFoundException : ModelLoadingException
{
    /// <summary>Creates an exception with a default message.</summary>
    public ModelNotFoundException()
        : this("No model has the id.")
    {
    }

    /// <summary>Creates an exception with the given message.</summary>
    /// <param name="message">What went wrong.</param>
    public ModelNotFoundException(string message)
        : base(message, null, ModelLoadFailure.UnknownModel)
    {
    }

    /// <summary>Creates an exception with the given message and cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public ModelNotFoundException(string message, Exception innerException)
        : base(null, ModelLoadFailure.UnknownModel, message, innerException)
    {
    }

    /// <summary>Creates an exception for a model id.</summary>
    /// <param name="modelId">The id.</param>
    public ModelNotFoundException(Guid modelId)
        : base($"No model has id {modelId} (never trained, or deleted).", modelId, ModelLoadFailure.UnknownModel)
    {
    }
}
