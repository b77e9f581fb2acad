namespace AgeGroupAnomaly;

/// <summary>No active model covers the age that was asked for.</summary>
public sealed class NoModelForAgeException : ModelManagerException
{
    /// <summary>Creates an exception with a default message.</summary>
    public NoModelForAgeException()
        : base("No active model covers the age.")
    {
    }

    /// <summary>Creates an exception with the given message.</summary>
    /// <param name="message">What went wrong.</param>
    public NoModelForAgeException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with the given message and cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public NoModelForAgeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception for an age.</summary>
    /// <param name="age">The age in years.</param>
    public NoModelForAgeException(double age)
        : base($"No active model covers age {age.ToString(System.Globalization.CultureInfo.InvariantCulture)}; train or activate a model whose range contains it.")
    {
        Age = age;
    }

    /// <summary>The age that no active model covers.</summary>
    public double Age { get; }
}
