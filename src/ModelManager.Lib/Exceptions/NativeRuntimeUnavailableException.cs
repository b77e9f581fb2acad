namespace AgeGroupAnomaly;

/// <summary>
/// TorchSharp's native libraries (libtorch and libLibTorchSharp) could not be loaded; the message
/// names the cause found on this system and the remedy.
/// </summary>
public sealed class NativeRuntimeUnavailableException : ModelManagerException
{
    /// <summary>Creates an exception with a default message.</summary>
    public NativeRuntimeUnavailableException()
        : base("TorchSharp's native runtime could not be loaded.")
    {
    }

    /// <summary>Creates an exception with the given message.</summary>
    /// <param name="message">What went wrong.</param>
    public NativeRuntimeUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with the given message and cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public NativeRuntimeUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
