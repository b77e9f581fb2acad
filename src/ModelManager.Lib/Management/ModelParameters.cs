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
            return JsonSerializer.Deserialize<TrainingSummary>(json, Json)
                ?? throw new JsonException("the document is null");
        }
        catch (JsonException ex)
        {
            throw new ModelLoadingException(modelId, ModelLoadFailure.MalformedHeader, $"the record's parameters JSON is unreadable: {ex.Message}", ex);
        }
    }
}
