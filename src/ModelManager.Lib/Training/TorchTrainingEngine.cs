using AgeGroupAnomaly.Modeling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AgeGroupAnomaly.Training;

/// <summary>
/// The training step with TorchSharp's own modules, autograd, <c>clip_grad_norm_</c> and Adam: the
/// path for CUDA devices, and on the CPU the reference the managed engine is tested against.
/// </summary>
internal sealed class TorchTrainingEngine : ITrainingEngine
{
    private readonly AutoencoderModel _model;
    private readonly Device _device;
    private readonly Tensor _all;
    private readonly Parameter[] _parameters;
    private readonly Adam _adam;

    public TorchTrainingEngine(AutoencoderModel model, float[] data, int dimension, Device device, double learningRate, int dropoutSeed)
    {
        _model = model;
        _device = device;
        _all = torch.tensor(data, [data.Length / dimension, dimension], device: device);
        _model.SeedDropout(dropoutSeed);
        _parameters = [.. model.parameters()];
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

    public double TrainBatch(ReadOnlySpan<int> rows, double maxGradientNorm)
    {
        using var scope = torch.NewDisposeScope();
        _model.train();
        Tensor batch = Rows(rows);
        _adam.zero_grad();
        Tensor loss = nn.functional.mse_loss(_model.forward(batch), batch);
        loss.backward();
        nn.utils.clip_grad_norm_(_parameters, maxGradientNorm);
        _adam.step();
        return loss.item<float>();
    }

    public double EvaluateBatch(ReadOnlySpan<int> rows)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        _model.eval();
        Tensor batch = Rows(rows);
        return nn.functional.mse_loss(_model.forward(batch), batch).item<float>();
    }

    public ModelWeights Weights() => _model.ToWeights();

    public void Dispose()
    {
        _adam.Dispose();
        _all.Dispose();
    }

    private Tensor Rows(ReadOnlySpan<int> rows)
    {
        long[] indices = new long[rows.Length];
        for (int i = 0; i < rows.Length; i++)
        {
            indices[i] = rows[i];
        }

        return _all.index_select(0, torch.tensor(indices, device: _device));
    }
}
