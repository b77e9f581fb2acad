using MathNet.Numerics.Random;

namespace AgeGroupAnomaly.Modeling;

/// <summary>
/// Fresh weights in managed code with the distribution of <c>torch.nn.Linear</c>'s default
/// initialisation: every weight and bias uniform in ±1/√fan_in (Kaiming-uniform with a = √5 gives
/// that bound for the weights). Seeded, so a CPU training never needs libtorch to start.
/// </summary>
internal static class WeightInitializer
{
    public static ModelWeights Initialize(ArchitectureInfo architecture, int seed)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        var random = new Xoshiro256StarStar(seed, threadSafe: false);
        var layers = new List<LayerWeights>(architecture.Layers.Count);
        foreach (LinearLayerShape layer in architecture.Layers)
        {
            double bound = 1 / Math.Sqrt(layer.InputSize);
            layers.Add(new LayerWeights(Uniform(random, layer.InputSize * layer.OutputSize, bound), Uniform(random, layer.OutputSize, bound)));
        }

        return new ModelWeights(architecture, layers);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)] // once per training: never left to the JIT's tiers
    private static float[] Uniform(Xoshiro256StarStar random, int count, double bound)
    {
        var values = new float[count];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (float)(((2 * random.NextDouble()) - 1) * bound);
        }

        return values;
    }
}
