namespace AgeGroupAnomaly.Modeling;

/// <summary>
/// The weights of an autoencoder as plain managed arrays, in the layer order of its
/// <see cref="ArchitectureInfo"/>. Needs no TorchSharp: checkpoints and the scoring kernel use it.
/// </summary>
public sealed class ModelWeights
{
    /// <summary>Creates weights after checking every array against the architecture.</summary>
    /// <param name="architecture">The shape the arrays belong to.</param>
    /// <param name="layers">One entry per linear layer, in <see cref="ArchitectureInfo.Layers"/> order.</param>
    public ModelWeights(ArchitectureInfo architecture, IReadOnlyList<LayerWeights> layers)
        : this(architecture, layers, null)
    {
    }

    /// <summary>Creates weights with the transform their inputs go through, after checking every array against the architecture.</summary>
    /// <param name="architecture">The shape the arrays belong to.</param>
    /// <param name="layers">One entry per linear layer, in <see cref="ArchitectureInfo.Layers"/> order.</param>
    /// <param name="standardizer">The per-feature input transform, or null for none (the identity).</param>
    public ModelWeights(ArchitectureInfo architecture, IReadOnlyList<LayerWeights> layers, InputStandardizer? standardizer)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        ArgumentNullException.ThrowIfNull(layers);
        IReadOnlyList<LinearLayerShape> shapes = architecture.Layers;
        if (layers.Count != shapes.Count)
        {
            throw new ArgumentException($"Expected {shapes.Count} layers for {architecture}, got {layers.Count}.", nameof(layers));
        }

        for (int i = 0; i < shapes.Count; i++)
        {
            LinearLayerShape shape = shapes[i];
            LayerWeights layer = layers[i];
            if (layer.Weight.Length != (long)shape.InputSize * shape.OutputSize || layer.Bias.Length != shape.OutputSize)
            {
                throw new ArgumentException(
                    $"Layer {shape.Name} needs a {shape.OutputSize}x{shape.InputSize} weight and {shape.OutputSize} biases, got {layer.Weight.Length} and {layer.Bias.Length} values.",
                    nameof(layers));
            }
        }

        if (standardizer is not null && standardizer.Dimension != architecture.InputSize)
        {
            throw new ArgumentException($"The standardizer has {standardizer.Dimension} features but the model takes {architecture.InputSize}.", nameof(standardizer));
        }

        Architecture = architecture;
        Layers = layers;
        Standardizer = standardizer;
    }

    /// <summary>The shape these weights belong to.</summary>
    public ArchitectureInfo Architecture { get; }

    /// <summary>Weights and biases per linear layer, in forward order.</summary>
    public IReadOnlyList<LayerWeights> Layers { get; }

    /// <summary>
    /// The per-feature transform applied to an embedding before the layers see it, or null when the
    /// layers take raw embeddings (models trained with <c>TrainingConfig.Standardize</c> false, and
    /// every checkpoint written before standardization existed).
    /// </summary>
    public InputStandardizer? Standardizer { get; }

    /// <summary>The same layers with another input transform.</summary>
    internal ModelWeights WithStandardizer(InputStandardizer? standardizer) => new(Architecture, Layers, standardizer);

    /// <summary>Named tensors in state-dict order: <c>encoder.0.weight</c>, <c>encoder.0.bias</c>, ….</summary>
    internal IEnumerable<(string Name, int[] Shape, float[] Values)> NamedTensors()
    {
        IReadOnlyList<LinearLayerShape> shapes = Architecture.Layers;
        for (int i = 0; i < shapes.Count; i++)
        {
            yield return (shapes[i].WeightName, [shapes[i].OutputSize, shapes[i].InputSize], Layers[i].Weight);
            yield return (shapes[i].BiasName, [shapes[i].OutputSize], Layers[i].Bias);
        }
    }

    /// <summary>True when both hold the same architecture and bit-identical values (standardizer included).</summary>
    /// <param name="other">The weights to compare with.</param>
    public bool BitwiseEquals(ModelWeights other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (!Architecture.Equals(other.Architecture) || (Standardizer is null ? other.Standardizer is not null : !Standardizer.BitwiseEquals(other.Standardizer)))
        {
            return false;
        }

        for (int i = 0; i < Layers.Count; i++)
        {
            if (!AsBits(Layers[i].Weight).SequenceEqual(AsBits(other.Layers[i].Weight))
                || !AsBits(Layers[i].Bias).SequenceEqual(AsBits(other.Layers[i].Bias)))
            {
                return false;
            }
        }

        return true;
    }

    private static ReadOnlySpan<int> AsBits(float[] values) => System.Runtime.InteropServices.MemoryMarshal.Cast<float, int>(values);
}

/// <summary>One linear layer's parameters.</summary>
/// <param name="Weight">Row-major [out, in] matrix, as PyTorch stores <c>nn.Linear.weight</c>.</param>
/// <param name="Bias">[out] vector.</param>
#pragma warning disable CA1819 // Arrays are the point: the scoring kernel reads them directly.
public sealed record LayerWeights(float[] Weight, float[] Bias);
#pragma warning restore CA1819
