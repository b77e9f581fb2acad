using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Serialization;
using AgeGroupAnomaly.Modeling;
using AgeGroupAnomaly.Scoring;
using AgeGroupAnomaly.Training;

namespace AgeGroupAnomaly.Management;

/// <summary>
/// A model record's parameters JSON: the <see cref="TrainingSummary"/> of the run that made it
/// (written by this library; read back for <see cref="ModelInfo"/> and for loading).
/// </summary>
internal static class ModelParameters
{
    private static readonly JsonSerializerOptions Json = new()
    {
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter() },
    };

    public static string ToJson(TrainingSummary summary) => JsonSerializer.Serialize(summary, Json); // the summary's own fields, not a derived record's

    public static TrainingSummary Parse(Guid modelId, string json)
    {
        try
        {
            TrainingSummary summary = JsonSerializer.Deserialize<TrainingSummary>(json, Json) ?? throw new JsonException("the document is null");

            // Present is not enough: a hand-edited record can hold nulls or a shape no model has.
            string? missing = summary.Config is null ? "Config" : summary.Architecture is null ? "Architecture"
                : summary.Metrics is null || summary.Metrics.SortedLosses.IsDefaultOrEmpty ? "Metrics"
                : summary.ValidationMetrics is null ? "ValidationMetrics" : summary.ThresholdPolicy is null ? "ThresholdPolicy"
                : summary.History.IsDefault ? "History" : null;
            if (missing is not null)
            {
                throw new JsonException($"'{missing}' is null or empty");
            }

            summary.Architecture!.Validate();
            return summary;
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException or NotSupportedException)
        {
            throw new ModelLoadingException(modelId, ModelLoadFailure.DamagedRecord, $"the record's parameters JSON is unreadable: {ex.Message}", ex);
        }
    }
}
