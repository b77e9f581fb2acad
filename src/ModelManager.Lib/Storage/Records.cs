namespace AgeGroupAnomaly.Storage;

/// <summary>A drawing's embedding and the child's age, to be stored.</summary>
/// <param name="AgeYears">Age in years: finite, 0 ≤ age ≤ <see cref="MaxAgeYears"/>.</param>
/// <param name="Embedding">The embedding (finite values).</param>
/// <param name="Subject">Optional subject code, for example "house".</param>
/// <param name="Label">Optional free text.</param>
#pragma warning disable CA1819 // a sample is its vector
public sealed record NewSample(double AgeYears, float[] Embedding, string? Subject = null, string? Label = null)
{
    /// <summary>
    /// The greatest age in years the library accepts (150), wherever an age enters: samples, model
    /// ranges, scoring and routing. Ages are finite and at least 0.
    /// </summary>
    public const double MaxAgeYears = 150;
}

/// <summary>A stored sample.</summary>
/// <param name="Id">Store-assigned id.</param>
/// <param name="AgeYears">Age in years.</param>
/// <param name="Embedding">The embedding.</param>
/// <param name="Subject">Optional subject code.</param>
/// <param name="Label">Optional free text.</param>
/// <param name="CreatedUtc">When it was stored.</param>
public sealed record SampleRecord(long Id, double AgeYears, float[] Embedding, string? Subject, string? Label, DateTime CreatedUtc);
#pragma warning restore CA1819

/// <summary>A trained model as the store keeps it: the row that points at its checkpoint file.</summary>
public sealed record ModelRecord
{
    /// <summary>Model id, chosen before the checkpoint is written.</summary>
    public required Guid Id { get; init; }

    /// <summary>Youngest age covered (inclusive).</summary>
    public required double AgeMin { get; init; }

    /// <summary>Oldest age covered (inclusive).</summary>
    public required double AgeMax { get; init; }

    /// <summary>Kind of model; "autoencoder" for everything this library trains.</summary>
    public string ModelType { get; init; } = "autoencoder";

    /// <summary>Length of the embeddings the model takes.</summary>
    public required int EmbeddingDimension { get; init; }

    /// <summary>JSON: training config, architecture, metrics, history, threshold policy.</summary>
    public required string ParametersJson { get; init; }

    /// <summary>Samples the model was trained on (training plus validation).</summary>
    public required int SampleCount { get; init; }

    /// <summary>Reconstruction errors above this are anomalies.</summary>
    public required double Threshold { get; init; }

    /// <summary>When the model was recorded (UTC).</summary>
    public required DateTime CreatedUtc { get; init; }

    /// <summary>Whether scoring by age uses this model.</summary>
    public required bool IsActive { get; init; }

    /// <summary>Checkpoint file path relative to the checkpoint root.</summary>
    public required string CheckpointPath { get; init; }

    /// <summary>SHA-256 (lowercase hex) of the checkpoint file.</summary>
    public required string CheckpointSha256 { get; init; }

    /// <summary>Whether <paramref name="age"/> lies in [AgeMin, AgeMax].</summary>
    /// <param name="age">Age in years.</param>
    /// <returns>True when covered.</returns>
    public bool Covers(double age) => age >= AgeMin && age <= AgeMax;
}
