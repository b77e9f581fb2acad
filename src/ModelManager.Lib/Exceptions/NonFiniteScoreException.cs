namespace AgeGroupAnomaly;

/// <summary>
/// A model computed a reconstruction loss that is NaN or ±∞ for a finite embedding (for example
/// finite weights whose products overflow). No score is returned rather than a NaN one, which
/// would never count as an anomaly.
/// </summary>
public sealed class NonFiniteScoreException : ModelManagerException
{
    /// <summary>Creates an exception with a default message.</summary>
    public NonFiniteScoreException()
        : base("A model computed a non-finite reconstruction loss.")
    {
    }

    /// <summary>Creates an exception with the given message.</summary>
    /// <param name="message">What went wrong.</param>
    public NonFiniteScoreException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with the given message and cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public NonFiniteScoreException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception for one model and loss.</summary>
    /// <param name="modelId">The model that computed the loss.</param>
    /// <param name="loss">The loss (NaN or ±∞).</param>
    public NonFiniteScoreException(Guid modelId, double loss)
        : base(FormattableString.Invariant($"Model {modelId} computed a reconstruction loss of {loss} for a finite embedding; its weights overflow (retrain the model or check the checkpoint)."))
    {
        ModelId = modelId;
        Loss = loss;
    }

    /// <summary>The model that computed the loss, when known.</summary>
    public Guid? ModelId { get; }

    /// <summary>The non-finite loss, when known.</summary>
    public double? Loss { get; }
}
