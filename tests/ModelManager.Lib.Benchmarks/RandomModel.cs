using AgeGroupAnomaly.Modeling;

namespace AgeGroupAnomaly.Benchmarks;

/// <summary>Weights for the kernel benchmarks, whose timings do not depend on the values: every weight and bias uniform in ±0.05.</summary>
internal static class RandomModel
{
    /// <summary>Draws the weights of <paramref name="architecture"/> from <paramref name="rng"/> (which callers go on drawing rows from).</summary>
    public static ModelWeights Weights(ArchitectureInfo architecture, Random rng) =>
        new(architecture, [.. architecture.Layers.Select(l => new LayerWeights(
            [.. Enumerable.Range(0, l.InputSize * l.OutputSize).Select(_ => (float)((rng.NextDouble() - 0.5) * 0.1))],
            [.. Enumerable.Range(0, l.OutputSize).Select(_ => (float)((rng.NextDouble() - 0.5) * 0.1))]))]);
}
