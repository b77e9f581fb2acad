namespace AgeGroupAnomaly;

/// <summary>
/// A model would become active for an age range that overlaps another active model's range (more
/// than a shared boundary age), so some ages would silently change model. Deactivate the other
/// model first, or allow overlaps with <see cref="ModelManagerOptions.AllowOverlappingRanges"/>.
/// </summary>
public sealed class OverlappingRangeException : ModelManagerException
{
    /// <summary>Creates an exception with a default message.</summary>
    public OverlappingRangeException()
        : base("The age range overlaps an active model's range.")
    {
    }

    /// <summary>Creates an exception with the given message.</summary>
    /// <param name="message">What went wrong.</param>
    public OverlappingRangeException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with the given message and cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public OverlappingRangeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception for a range and the active model it overlaps.</summary>
    /// <param name="ageMin">Youngest age of the requested range.</param>
    /// <param name="ageMax">Oldest age of the requested range.</param>
    /// <param name="activeModelId">The active model whose range overlaps.</param>
    /// <param name="activeAgeMin">Youngest age of that model's range.</param>
    /// <param name="activeAgeMax">Oldest age of that model's range.</param>
    public OverlappingRangeException(double ageMin, double ageMax, Guid activeModelId, double activeAgeMin, double activeAgeMax)
        : base(System.FormattableString.Invariant(
            $"Ages [{ageMin}, {ageMax}] overlap active model {activeModelId} for [{activeAgeMin}, {activeAgeMax}]; deactivate that model first, train exactly its range to replace it, or set ModelManagerOptions.AllowOverlappingRanges."))
    {
        ActiveModelId = activeModelId;
    }

    /// <summary>The active model whose range overlaps.</summary>
    public Guid? ActiveModelId { get; }
}
