using AgeGroupAnomaly.Compute;
using AgeGroupAnomaly.Modeling;
using AgeGroupAnomaly.Storage;
using AgeGroupAnomaly.Training;

namespace AgeGroupAnomaly.Scoring;

/// <summary>A model ready to score: its record, calibration statistics, weights and managed kernel.</summary>
internal sealed class LoadedModel(ModelRecord record, LossStatistics calibration, ModelWeights weights, SecondCore? secondCore = null, bool compactWeights = false)
{
    public ModelRecord Record { get; } = record;

    /// <summary>The errors the threshold and percentile ranks come from.</summary>
    public LossStatistics Calibration { get; } = calibration;

    public ModelWeights Weights { get; } = weights;

    public InferenceKernel Kernel { get; } = new(weights, compactWeights) { SecondCore = secondCore };

    /// <summary>The metrics tag of its age range, made once so scoring does not format it.</summary>
    public string AgeRange { get; } = Telemetry.ModelManagerTelemetry.AgeRange(record.AgeMin, record.AgeMax);
}
