using System.Collections.Immutable;
using AgeGroupAnomaly.Native;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace AgeGroupAnomaly.Modeling;

/// <summary>
/// The MLP autoencoder as a TorchSharp module. Parameter names equal the original Python
/// module's state-dict keys (<c>encoder.0.weight</c>, …, <c>decoder.0.weight</c>, …), so weights
/// move between the two with a strict state-dict load.
/// </summary>
/// <remarks>
/// A plain autoencoder: it takes the inputs its weights were trained on. When
/// <see cref="ModelWeights.Standardizer"/> is set (the default since <c>TrainingConfig.Standardize</c>),
/// those are standardized embeddings z = (x − mean) / scale, and a caller of
/// <see cref="FromWeights"/> or <see cref="Module{T, TResult}.forward(T)"/> must standardize first;
/// the module itself does not hold the transform.
/// </remarks>
public sealed class AutoencoderModel : Module<Tensor, Tensor>
{
    private readonly Sequential _encoder;
    private readonly Sequential _decoder;
    private readonly List<SeededDropout> _dropouts = [];

    /// <summary>Builds a freshly initialised model.</summary>
    /// <param name="inputSize">Embedding length.</param>
    /// <param name="hiddenSizes">Encoder widths; the last is the bottleneck.</param>
    /// <param name="dropout">Dropout probability after each hidden ReLU.</param>
    public AutoencoderModel(int inputSize, IReadOnlyList<int> hiddenSizes, double dropout = 0.1)
        : this(new ArchitectureInfo(inputSize, [.. hiddenSizes ?? throw new ArgumentNullException(nameof(hiddenSizes))], dropout))
    {
    }

    /// <summary>Builds a freshly initialised model of the given shape.</summary>
    /// <param name="architecture">The shape.</param>
    public AutoencoderModel(ArchitectureInfo architecture)
        : base(nameof(AutoencoderModel))
    {
        ArgumentNullException.ThrowIfNull(architecture);
        architecture.Validate();
        TorchRuntime.EnsureAvailable();
        Architecture = architecture;

        var encoder = new List<(string, Module<Tensor, Tensor>)>();
        var decoder = new List<(string, Module<Tensor, Tensor>)>();
        foreach (LinearLayerShape layer in architecture.Layers)
        {
            var children = layer.Name.StartsWith("encoder", StringComparison.Ordinal) ? encoder : decoder;
            children.Add((children.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), Linear(layer.InputSize, layer.OutputSize)));
            if (layer.ReluAfter)
            {
                children.Add((children.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), ReLU()));
                var dropout = new SeededDropout(architecture.Dropout);
                _dropouts.Add(dropout);
                children.Add((children.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), dropout));
            }
        }

        _encoder = Sequential(encoder);
        _decoder = Sequential(decoder);

        // Registered by hand so the names are exactly "encoder" and "decoder".
        register_module("encoder", _encoder);
        register_module("decoder", _decoder);
    }

    /// <summary>Builds a model and loads the given weights into it (eval mode); their standardizer, if any, is not part of the module: standardize inputs first.</summary>
    /// <param name="weights">Weights whose architecture defines the model.</param>
    /// <returns>The model, in eval mode.</returns>
    public static AutoencoderModel FromWeights(ModelWeights weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var model = new AutoencoderModel(weights.Architecture);
        try
        {
            model.LoadWeights(weights);
            model.eval();
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Input size, hidden sizes, dropout and parameter counts (the original's <c>get_architecture_info</c>).</summary>
    public ArchitectureInfo Architecture { get; }

    /// <summary>Reconstructs the input: <c>decode(encode(x))</c>.</summary>
    /// <param name="input">[batch, InputSize].</param>
    /// <returns>The reconstruction, same shape as the input.</returns>
    public override Tensor forward(Tensor input)
    {
        using var latent = _encoder.forward(input);
        return _decoder.forward(latent);
    }

    /// <summary>Maps inputs to the bottleneck.</summary>
    /// <param name="input">[batch, InputSize].</param>
    /// <returns>[batch, bottleneck].</returns>
    public Tensor encode(Tensor input) => _encoder.forward(input);

    /// <summary>Maps bottleneck codes back to input space.</summary>
    /// <param name="latent">[batch, bottleneck].</param>
    /// <returns>[batch, InputSize].</returns>
    public Tensor decode(Tensor latent) => _decoder.forward(latent);

    /// <summary>Draws dropout masks from a managed generator with this seed from now on (training repeatability).</summary>
    /// <param name="seed">The seed.</param>
    internal void SeedDropout(int seed)
    {
        // MathNet's xoshiro256** draws in bulk and is seedable (System.Random's seeded generator is the slow legacy one).
        var random = new MathNet.Numerics.Random.Xoshiro256StarStar(seed, threadSafe: false);
        foreach (SeededDropout dropout in _dropouts)
        {
            dropout.Seed(random);
        }
    }

    /// <summary>Copies the current parameters into managed arrays (a deep copy).</summary>
    /// <returns>The weights.</returns>
    public ModelWeights ToWeights()
    {
        Dictionary<string, Parameter> named = NamedParameters();
        using var scope = torch.NewDisposeScope();
        var layers = new List<LayerWeights>(Architecture.Layers.Count);
        foreach (LinearLayerShape layer in Architecture.Layers)
        {
            layers.Add(new LayerWeights(ToArray(named[layer.WeightName]), ToArray(named[layer.BiasName])));
        }

        return new ModelWeights(Architecture, layers);
    }

    /// <summary>Overwrites the parameters with the given weights.</summary>
    /// <param name="weights">Weights of the same architecture.</param>
    public void LoadWeights(ModelWeights weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (!weights.Architecture.Equals(Architecture))
        {
            throw new ArgumentException($"Weights for {weights.Architecture} do not fit a model of {Architecture}.", nameof(weights));
        }

        Dictionary<string, Parameter> named = NamedParameters();
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        for (int i = 0; i < Architecture.Layers.Count; i++)
        {
            LinearLayerShape layer = Architecture.Layers[i];
            named[layer.WeightName].copy_(torch.tensor(weights.Layers[i].Weight, [layer.OutputSize, layer.InputSize]));
            named[layer.BiasName].copy_(torch.tensor(weights.Layers[i].Bias, [layer.OutputSize]));
        }
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _encoder.Dispose();
            _decoder.Dispose();
        }

        base.Dispose(disposing);
    }

    private Dictionary<string, Parameter> NamedParameters() =>
        named_parameters().ToDictionary(p => p.name, p => p.parameter, StringComparer.Ordinal);

    // Called inside a dispose scope, which frees the detached and contiguous views.
    private static float[] ToArray(Tensor t) => t.detach().cpu().contiguous().data<float>().ToArray();
}
