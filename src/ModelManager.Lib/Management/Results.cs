using System.Collections.Immutable;
using AgeGroupAnomaly.Checkpoints;
using AgeGroupAnomaly.Modeling;
using AgeGroupAnomaly.Scoring;
using AgeGroupAnomaly.Training;

namespace AgeGroupAnomaly;

/// <summary>The outcome of training one age group.</summary>
/// <param name="ModelId">The new model.</param>
/// <param name="AgeMin">Youngest age (inclusive).</param>
/// <param name="AgeMax">Oldest age (inclusive).</param>
/// <param name="SampleCount">Samples trained on.</param>
/// <param name="Threshold">Anomaly threshold.</param>
/// <param name="Training">Figures, history and statistics.</param>
/// <param name="Checkpoint">Where the weights were written.</param>
public sealed record AgeGroupTrainingResult(
    Guid ModelId, double AgeMin, double AgeMax, int SampleCount, double Threshold, TrainingResult Training, CheckpointInfo Checkpoint);

/// <summary>A stored model as users see it.</summary>
public sealed record ModelInfo
{
    /// <summary>Model id.</summary>
    public required Guid Id { get; init; }

    /// <summary>Youngest age (inclusive).</summary>
    public required double AgeMin { get; init; }

    /// <summary>Oldest age (inclusive).</summary>
    public required double AgeMax { get; init; }

    /// <summary>Model type.</summary>
    public required string ModelType { get; init; }

    /// <summary>Embedding length.</summary>
    public required int EmbeddingDimension { get; init; }

    /// <summary>Samples trained on.</summary>
    public required int SampleCount { get; init; }

    /// <summary>Anomaly threshold.</summary>
    public required double Threshold { get; init; }

    /// <summary>Creation time (UTC).</summary>
    public required DateTime CreatedUtc { get; init; }

    /// <summary>Whether scoring by age uses it.</summary>
    public required bool IsActive { get; init; }

    /// <summary>Architecture and parameter counts.</summary>
    public required ArchitectureInfo Architecture { get; init; }

    /// <summary>Training configuration.</summary>
    public required TrainingConfig Config { get; init; }

    /// <summary>Error statistics on the training run's rows.</summary>
    public required ErrorStatistics Metrics { get; init; }

    /// <summary>Per-epoch history.</summary>
    public required ImmutableArray<EpochRecord> History { get; init; }

    /// <summary>Best validation loss.</summary>
    public required double BestValidationLoss { get; init; }

    /// <summary>How the threshold was chosen.</summary>
    public required ThresholdPolicy ThresholdPolicy { get; init; }

    internal static ModelInfo From(Storage.ModelRecord record)
    {
        ModelParameters p = ModelParameters.Parse(record.Id, record.ParametersJson);
        return new ModelInfo
        {
            Id = record.Id,
            AgeMin = record.AgeMin,
            AgeMax = record.AgeMax,
            ModelType = record.ModelType,
            EmbeddingDimension = record.EmbeddingDimension,
            SampleCount = record.SampleCount,
            Threshold = record.Threshold,
            CreatedUtc = record.CreatedUtc,
            IsActive = record.IsActive,
            Architecture = p.Architecture,
            Config = p.Config,
            Metrics = p.Metrics,
            History = p.History,
            BestValidationLoss = p.BestValidationLoss,
            ThresholdPolicy = p.ThresholdPolicy,
        };
    }
}

/// <summary>A proposed age range for one model.</summary>
/// <param name="AgeMin">Youngest whole year (inclusive).</param>
/// <param name="AgeMax">Oldest whole year (inclusive).</param>
/// <param name="SampleCount">Samples whose age lies in the range.</param>
/// <param name="HasEnoughSamples">Whether the range reaches the minimum sample count.</param>
public sealed record AgeGroupPlan(double AgeMin, double AgeMax, int SampleCount, bool HasEnoughSamples);

/// <summary>Rules for planning age groups.</summary>
public sealed record AgeGroupPlanOptions
{
    /// <summary>Fewest samples a group should hold, at least 1.</summary>
    /// <value>The default is 50.</value>
    public int MinSamples { get; init; } = 50;

    /// <summary>Most whole years a group may span, at least 1.</summary>
    /// <value>The default is 4.</value>
    public int MaxSpanYears { get; init; } = 4;
}

/// <summary>Progress of <see cref="ModelManager.TrainAllAgeGroupsAsync"/>.</summary>
/// <param name="GroupIndex">0-based index of the group being trained.</param>
/// <param name="GroupCount">Groups to train.</param>
/// <param name="Group">The group.</param>
/// <param name="Epoch">The epoch just finished.</param>
/// <param name="MaxEpochs">Configured epochs.</param>
public sealed record AgeGroupProgress(int GroupIndex, int GroupCount, AgeGroupPlan Group, EpochRecord Epoch, int MaxEpochs);
