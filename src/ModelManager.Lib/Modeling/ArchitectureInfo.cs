using System.Collections.Immutable;

namespace AgeGroupAnomaly.Modeling;

/// <summary>
/// The shape of an autoencoder: input size, encoder hidden sizes and dropout. The decoder mirrors
/// the hidden sizes back (bottleneck excluded) and ends with a plain linear layer to the input size.
/// </summary>
/// <param name="InputSize">Length of the embedding vectors.</param>
/// <param name="HiddenSizes">Encoder layer widths; the last one is the bottleneck.</param>
/// <param name="Dropout">Dropout probability after every hidden ReLU.</param>
public sealed record ArchitectureInfo(int InputSize, ImmutableArray<int> HiddenSizes, double Dropout)
{
    /// <summary>The linear layers in forward order, named as the original module's state-dict keys.</summary>
    internal IReadOnlyList<LinearLayerShape> Layers => _layers ??= BuildLayers();

    /// <summary>Total number of parameters (weights and biases).</summary>
    public long TotalParameters => Layers.Sum(l => ((long)l.InputSize * l.OutputSize) + l.OutputSize);

    /// <summary>Parameters that training changes: all of them.</summary>
    public long TrainableParameters => TotalParameters;

    /// <summary>Multiply-accumulate operations of one forward pass of one embedding.</summary>
    public long MultiplyAccumulatesPerSample => Layers.Sum(l => (long)l.InputSize * l.OutputSize);

    private IReadOnlyList<LinearLayerShape>? _layers;

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad field when the shape is unusable.</summary>
    public void Validate()
    {
        if (InputSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(InputSize), InputSize, $"InputSize is {InputSize}; it must be at least 1.");
        }

        if (HiddenSizes.IsDefaultOrEmpty)
        {
            throw new ArgumentException("HiddenSizes is empty; give at least one hidden layer width.", nameof(HiddenSizes));
        }

        for (int i = 0; i < HiddenSizes.Length; i++)
        {
            if (HiddenSizes[i] < 1)
            {
                throw new ArgumentOutOfRangeException(nameof(HiddenSizes), HiddenSizes[i], $"HiddenSizes[{i}] is {HiddenSizes[i]}; every hidden size must be at least 1.");
            }
        }

        if (!(Dropout >= 0 && Dropout < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(Dropout), Dropout, $"Dropout is {Dropout}; it must lie in [0, 1).");
        }
    }

    /// <inheritdoc />
    public bool Equals(ArchitectureInfo? other) =>
        other is not null && InputSize == other.InputSize && Dropout.Equals(other.Dropout)
        && HiddenSizes.AsSpan().SequenceEqual(other.HiddenSizes.AsSpan());

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(InputSize);
        hash.Add(Dropout);
        foreach (int h in HiddenSizes)
        {
            hash.Add(h);
        }

        return hash.ToHashCode();
    }

    /// <inheritdoc />
    public override string ToString() => $"{InputSize} -> [{string.Join(", ", HiddenSizes)}] (dropout {Dropout})";

    private List<LinearLayerShape> BuildLayers()
    {
        Validate();
        var layers = new List<LinearLayerShape>();

        // Encoder children: Linear, ReLU, Dropout per hidden size, so Linear i sits at index 3i.
        int previous = InputSize;
        for (int i = 0; i < HiddenSizes.Length; i++)
        {
            layers.Add(new LinearLayerShape($"encoder.{3 * i}", previous, HiddenSizes[i], ReluAfter: true));
            previous = HiddenSizes[i];
        }

        // Decoder mirrors the hidden sizes back without the bottleneck, then a plain Linear.
        int position = 0;
        for (int i = HiddenSizes.Length - 2; i >= 0; i--)
        {
            layers.Add(new LinearLayerShape($"decoder.{position}", previous, HiddenSizes[i], ReluAfter: true));
            previous = HiddenSizes[i];
            position += 3;
        }

        layers.Add(new LinearLayerShape($"decoder.{position}", previous, InputSize, ReluAfter: false));
        return layers;
    }
}

/// <summary>One linear layer of an autoencoder.</summary>
/// <param name="Name">Module path, for example <c>encoder.0</c>; its tensors are <c>Name.weight</c> and <c>Name.bias</c>.</param>
/// <param name="InputSize">Input features.</param>
/// <param name="OutputSize">Output features.</param>
/// <param name="ReluAfter">Whether ReLU (and dropout while training) follows the layer.</param>
internal sealed record LinearLayerShape(string Name, int InputSize, int OutputSize, bool ReluAfter)
{
    /// <summary>The state-dict key of the weight matrix (shape [OutputSize, InputSize]).</summary>
    public string WeightName => Name + ".weight";

    /// <summary>The state-dict key of the bias vector (shape [OutputSize]).</summary>
    public string BiasName => Name + ".bias";
}
