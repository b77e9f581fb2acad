using System.Collections.Immutable;
using AgeGroupAnomaly.Checkpoints;
using AgeGroupAnomaly.Modeling;
using AgeGroupAnomaly.Scoring;
using AgeGroupAnomaly.Training;

namespace AgeGroupAnomaly;

/// <summary>The outcome of training one age group: the stored model, the training and where the checkpoint went.</summary>
/// <param name="Model">The new model as <see cref="ModelManager.GetModelInfoAsync"/> describes it.</param>
/// <param name="Training">Figures, history, statistics and weights.</param>
/// <param name="Checkpoint">Where the weights were written and their SHA-256.</param>
public sealed record AgeGroupTrainingResult(ModelInfo Model, TrainingResult Training, CheckpointInfo Checkpoint)
{
    /// <summary>The new model's id (<see cref="ModelInfo.Id"/> of <see cref="Model"/>).</summary>
    public Guid ModelId => Model.Id;

    /// <summary>Youngest age (inclusive).</summary>
    public double AgeMin => Model.AgeMin;

    /// <summary>Oldest age (inclusive).</summary>
    public double AgeMax => Model.AgeMax;

    /// <summary>Samples trained on.</summary>
    public int SampleCount => Model.SampleCount;

    /// <summary>Anomaly threshold.</summary>
    public double Threshold => Model.Threshold;
}

/// <summary>A stored model as users see it: its record and the summary of the training that made it.</summary>
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

    /// <summary>Configuration, architecture, history, stop reason, best epoch and error statistics of its training.</summary>
    public required TrainingSummary Training { get; init; }

    internal static ModelInfo From(Storage.ModelRecord record) => From(record, Management.ModelParameters.Parse(record.Id, record.ParametersJson));

    internal static ModelInfo From(Storage.ModelRecord record, TrainingSummary training) => new()
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
        Training = training,
    };
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
