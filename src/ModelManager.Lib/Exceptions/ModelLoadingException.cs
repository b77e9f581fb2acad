namespace AgeGroupAnomaly;

/// <summary>Why a model could not be loaded.</summary>
public enum ModelLoadFailure
{
    /// <summary>Not classified.</summary>
    Unknown,

    /// <summary>No model record has the id.</summary>
    UnknownModel,

    /// <summary>The checkpoint file does not exist.</summary>
    MissingFile,

    /// <summary>The file's SHA-256 differs from the one recorded when it was written.</summary>
    ChecksumMismatch,

    /// <summary>The file ends before its header or data does.</summary>
    Truncated,

    /// <summary>The header is not the JSON this format requires.</summary>
    MalformedHeader,

    /// <summary>The file names a format or format version this library does not know.</summary>
    UnsupportedFormat,

    /// <summary>Tensor names, dtypes, shapes or offsets are inconsistent with the file or the architecture.</summary>
    InvalidTensorLayout,

    /// <summary>The architecture in the file disagrees with the model record.</summary>
    ArchitectureMismatch,

    /// <summary>
    /// The recorded path is not the checkpoint name this library generates for the model under its
    /// root, or it names something other than a regular file (a directory, a symbolic link, a named
    /// pipe, a device).
    /// </summary>
    InvalidPath,

    /// <summary>The file is larger than a checkpoint of the recorded architecture can be; it is not read.</summary>
    TooLarge,

    /// <summary>The checkpoint's weights hold NaN or ±∞.</summary>
    NonFiniteWeights,

    /// <summary>The file exists but the operating system refused to read it (permissions, I/O error).</summary>
    Unreadable,

    /// <summary>The model's record in the store is damaged (for example an id that is not a GUID); only that model is affected.</summary>
    DamagedRecord,

    /// <summary>The model store or checkpoint store failed while the model was read (unreachable, disposed, I/O error).</summary>
    StoreUnavailable,
}

/// <summary>A model could not be loaded; <see cref="ModelId"/> and <see cref="Reason"/> say which and why.</summary>
public class ModelLoadingException : ModelManagerException
{
    /// <summary>Creates an exception with a default message.</summary>
    public ModelLoadingException()
        : base("A model could not be loaded.")
    {
    }

    /// <summary>Creates an exception with the given message.</summary>
    /// <param name="message">What went wrong.</param>
    public ModelLoadingException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with the given message and cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public ModelLoadingException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception for one model.</summary>
    /// <param name="modelId">The model, when known.</param>
    /// <param name="reason">Why it failed.</param>
    /// <param name="detail">Details for the message.</param>
    /// <param name="innerException">The cause, if any.</param>
    public ModelLoadingException(Guid? modelId, ModelLoadFailure reason, string detail, Exception? innerException = null)
        : base($"Model {(modelId is { } id ? id.ToString() : "(unrecorded)")} could not be loaded ({reason}): {detail}", innerException!)
    {
        ModelId = modelId;
        Reason = reason;
    }

    /// <summary>Creates an exception with a complete message, for derived types.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="modelId">The model, when known.</param>
    /// <param name="reason">Why loading failed.</param>
    protected ModelLoadingException(string message, Guid? modelId, ModelLoadFailure reason)
        : base(message)
    {
        ModelId = modelId;
        Reason = reason;
    }

    /// <summary>The model that failed to load, when known.</summary>
    public Guid? ModelId { get; }

    /// <summary>Why it failed.</summary>
    public ModelLoadFailure Reason { get; }
}
