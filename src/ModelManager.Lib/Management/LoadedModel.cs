using AgeGroupAnomaly.Modeling;
using AgeGroupAnomaly.Scoring;
using AgeGroupAnomaly.Storage;

namespace AgeGroupAnomaly.Management;

/// <summary>A model ready to score: its record, parsed parameters, weights and managed kernel.</summary>
internal sealed class LoadedModel(ModelRecord record, ModelParameters parameters, ModelWeights weights, bool splitAcrossCores = false)
{
    public ModelRecord Record { get; } = record;

    public ModelParameters Parameters { get; } = parameters;

    public ModelWeights Weights { get; } = weights;

    public InferenceKernel Kernel { get; } = new(weights) { UseSecondCore = splitAcrossCores && Environment.ProcessorCount > 1 };
}
