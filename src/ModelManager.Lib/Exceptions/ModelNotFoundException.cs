namespace AgeGroupAnomaly;

/// <summary>No model record has the id that was asked for.</summary>
public sealed class ModelNotFoundException : ModelManagerException
{
    /// <summary>Creates an exception with a default message.</summary>
    public ModelNotFoundException()
        : base("No model has the id.")
    {
    }

    /// <summary>Creates an exception with the given message.</summary>
    /// <param name="message">What went wrong.</param>
    public ModelNotFoundException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with the given message and cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public ModelNotFoundException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception for a model id.</summary>
    /// <param name="modelId">The id.</param>
    public ModelNotFoundException(Guid modelId)
        : base($"No model has id {modelId}.")
    {
        ModelId = modelId;
    }

    /// <summary>The id no model has.</summary>
    public Guid ModelId { get; }
}
