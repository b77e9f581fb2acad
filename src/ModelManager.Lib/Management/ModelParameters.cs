using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Serialization;
using AgeGroupAnomaly.Modeling;
using AgeGroupAnomaly.Scoring;
using AgeGroupAnomaly.Training;

namespace AgeGroupAnomaly;

/// <summary>How the anomaly threshold was chosen.</summary>
/// <param name="Percentile">Percentile of the per-sample errors.</param>
/// <param name="Rule">The percentile rule.</param>
/// <param name="CalibrationSet">Which rows the errors came from.</param>
public sealed record ThresholdPolicy(double Percentile, string Rule, string CalibrationSet)
{
    /// <summary>The policy this library applies: the original service's rule on all training-run rows.</summary>
    /// <param name="percentile">The configured percentile.</param>
    /// <returns>The policy.</returns>
    public static ThresholdPolicy ForPercentile(double percentile) =>
        new(percentile, "sorted[min(floor(p/100*n), n-1)]", "train+validation (training rows included, as in the original service)");
}

/// <summary>What a model record's parameters JSON holds.</summary>
public sealed record ModelParameters
{
    /// <summary>The training configuration.</summary>
    public required TrainingConfig Config { get; init; }

    /// <summary>The architecture with parameter counts.</summary>
    public required ArchitectureInfo Architecture { get; init; }

    /// <summary>Error statistics on all rows, with the sorted errors used for percentile ranks.</summary>
    public required ErrorStatistics Metrics { get; init; }

    /// <summary>Error statistics on the validation rows only.</summary>
    public required ErrorStatistics ValidationMetrics { get; init; }

    /// <summary>Per-epoch history.</summary>
    public required ImmutableArray<EpochRecord> History { get; init; }

    /// <summary>How the threshold was chosen.</summary>
    public required ThresholdPolicy ThresholdPolicy { get; init; }

    /// <summary>Why training ended.</summary>
    public required StopReason StopReason { get; init; }

    /// <summary>Best validation loss.</summary>
    public required double BestValidationLoss { get; init; }

    /// <summary>Epoch of the best validation loss.</summary>
    public required int BestEpoch { get; init; }

    /// <summary>The architecture as a shape.</summary>
    [JsonIgnore]
    public ModelArchitecture Shape => new(Architecture.InputSize, Architecture.HiddenSizes, Architecture.Dropout);

    internal static readonly JsonSerializerOptions Json = new()
    {
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter() },
    };

    internal static ModelParameters From(TrainingResult result) => new()
    {
        Config = result.Config,
        Architecture = result.Architecture,
        Metrics = result.Metrics,
        ValidationMetrics = result.ValidationMetrics,
        History = result.History,
        ThresholdPolicy = ThresholdPolicy.ForPercentile(result.Config.ThresholdPercentile),
        StopReason = result.StopReason,
        BestValidationLoss = result.BestValidationLoss,
        BestEpoch = result.BestEpoch,
    };

    internal string ToJson() => JsonSerializer.Serialize(this, Json);

    internal static ModelParameters Parse(Guid modelId, string json)
    {
        try
        {
            return JsonSerializer.Deserialize<ModelParameters>(json, Json)
                ?? throw new JsonException("the document is null");
        }
        catch (JsonException ex)
        {
            throw new ModelLoadingException(modelId, ModelLoadFailure.MalformedHeader, $"the record's parameters JSON is unreadable: {ex.Message}", ex);
        }
    }
}
