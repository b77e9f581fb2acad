namespace AgeGroupAnomaly;

/// <summary>Base type of every exception this library throws for a data, file or runtime problem.</summary>
public class ModelManagerException : Exception
{
    /// <summary>Creates an exception with a default message.</summary>
    public ModelManagerException()
        : base("A ModelManager.Lib operation failed.")
    {
    }

    /// <summary>Creates an exception with the given message.</summary>
    /// <param name="message">What went wrong.</param>
    public ModelManagerException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with the given message and cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public ModelManagerException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
