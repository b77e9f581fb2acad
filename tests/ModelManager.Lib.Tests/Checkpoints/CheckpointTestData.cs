using AgeGroupAnomaly.Modeling;

namespace AgeGroupAnomaly.Tests.Checkpoints;

internal static class CheckpointTestData
{
    public static readonly ModelArchitecture Architecture = new(6, [4, 2], 0.1);

    /// <summary>Seeded weights with awkward values (negative zero, subnormals, extremes) to prove bit-exactness.</summary>
    public static ModelWeights Weights(int seed = 1, ModelArchitecture? architecture = null)
    {
        architecture ??= Architecture;
        var rng = new Random(seed);
        float[] Fill(int n) => [.. Enumerable.Range(0, n).Select(i => i switch
        {
            0 => -0f,
            1 => float.Epsilon,
            2 => float.MaxValue,
            _ => (float)(rng.NextDouble() * 2 - 1),
        })];
        return new ModelWeights(architecture, [.. architecture.Layers.Select(l => new LayerWeights(Fill(l.InputSize * l.OutputSize), Fill(l.OutputSize)))]);
    }
}
