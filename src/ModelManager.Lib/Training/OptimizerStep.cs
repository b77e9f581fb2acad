using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AgeGroupAnomaly.Training;

/// <summary>Gradient clipping plus an Adam step, as the training loop needs them.</summary>
internal interface IOptimizerStep : IDisposable
{
    double LearningRate { get; set; }

    void ZeroGrad();

    void ClipAndStep(double maxNorm);

    /// <summary>The fused managed step on the CPU; TorchSharp's own optimizer elsewhere.</summary>
    static IOptimizerStep For(IEnumerable<Parameter> parameters, double learningRate, Device device) =>
        device.type == TorchSharp.DeviceType.CPU
            ? new FusedAdam(parameters, learningRate)
            : new TorchAdamStep(parameters, learningRate);
}

/// <summary>TorchSharp's <c>clip_grad_norm_</c> and <c>Adam</c>: the reference the fused step is checked against.</summary>
internal sealed class TorchAdamStep : IOptimizerStep
{
    private readonly Parameter[] _parameters;
    private readonly TorchSharp.Modules.Adam _adam;

    public TorchAdamStep(IEnumerable<Parameter> parameters, double learningRate)
    {
        _parameters = [.. parameters];
        _adam = optim.Adam(_parameters, learningRate);
    }

    public double LearningRate
    {
        get => _adam.ParamGroups.First().LearningRate;
        set
        {
            foreach (var group in _adam.ParamGroups)
            {
                group.LearningRate = value;
            }
        }
    }

    public void ZeroGrad() => _adam.zero_grad();

    public void ClipAndStep(double maxNorm)
    {
        nn.utils.clip_grad_norm_(_parameters, maxNorm);
        _adam.step();
    }

    public void Dispose() => _adam.Dispose();
}
