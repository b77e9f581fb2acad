using System.Collections.Immutable;

namespace AgeGroupAnomaly.Scoring;

/// <summary>How unusual one embedding is for an age group's model.</summary>
public sealed record ScoreResult
{
    /// <summary>The model that scored it.</summary>
    public required Guid ModelId { get; init; }

    /// <summary>Youngest age of the model's range (inclusive).</summary>
    public required double AgeMin { get; init; }

    /// <summary>Oldest age of the model's range (inclusive).</summary>
    public required double AgeMax { get; init; }

    /// <summary>Mean squared reconstruction error over all dimensions.</summary>
    public required double ReconstructionLoss { get; init; }

    /// <summary>The model's anomaly threshold.</summary>
    public required double Threshold { get; init; }

    /// <summary>Whether the loss exceeds the threshold.</summary>
    public bool IsAnomaly => ReconstructionLoss > Threshold;

    /// <summary>Loss divided by threshold (above 1 means anomalous); +∞ for a positive loss against a zero threshold.</summary>
    public double ThresholdRatio => Threshold > 0 ? ReconstructionLoss / Threshold : (ReconstructionLoss > 0 ? double.PositiveInfinity : 0);

    /// <summary>Percentile rank (0–100) of the loss among the model's calibration losses (the rows its threshold was calibrated on, see <see cref="Training.ThresholdPolicy"/>).</summary>
    public required double PercentileRank { get; init; }

    /// <summary>Loss per configured embedding segment, in configuration order (empty when none are configured).</summary>
    public ImmutableArray<SegmentLoss> SegmentLosses { get; init; } = [];

    /// <summary>
    /// The features that contribute most to <see cref="ReconstructionLoss"/>, largest squared error
    /// first (<see cref="ModelManagerOptions.ExplainTopFeatures"/> of them; none when that is 0).
    /// For a model that standardises its inputs the errors are in standardised units.
    /// </summary>
    public ImmutableArray<FeatureLoss> TopFeatures { get; init; } = [];

    /// <inheritdoc />
    public bool Equals(ScoreResult? other) =>
        other is not null && ModelId == other.ModelId && AgeMin.Equals(other.AgeMin) && AgeMax.Equals(other.AgeMax)
        && ReconstructionLoss.Equals(other.ReconstructionLoss) && Threshold.Equals(other.Threshold) && PercentileRank.Equals(other.PercentileRank)
        && SegmentLosses.AsSpan().SequenceEqual(other.SegmentLosses.AsSpan()) && TopFeatures.AsSpan().SequenceEqual(other.TopFeatures.AsSpan()); // by value, as a record's reader expects

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(ModelId, ReconstructionLoss, Threshold, PercentileRank);
}

/// <summary>The reconstruction loss of one named embedding segment.</summary>
/// <param name="Name">Segment name.</param>
/// <param name="Loss">Mean squared error over the segment's dimensions.</param>
public readonly record struct SegmentLoss(string Name, double Loss);
