using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using MathNet.Numerics.Random;
using TorchSharp;
using static TorchSharp.torch;

namespace AgeGroupAnomaly.Modeling;

/// <summary>
/// Inverted dropout whose masks come from a seeded managed generator once <see cref="Seed"/> is
/// called, and from TorchSharp's dropout before that. libtorch draws Bernoulli masks one element
/// at a time from its CPU generator, which cost more than the layers' matrix products; a managed
/// mask is several times cheaper and keeps training repeatable for a seed. In eval mode it is the
/// identity, like <c>nn.Dropout</c>; it has no parameters, so state-dict keys are unchanged.
/// </summary>
internal sealed class SeededDropout : nn.Module<Tensor, Tensor>
{
    private readonly double _probability;
    private RandomSource? _random;
    private double[] _uniform = [];

    public SeededDropout(double probability)
        : base("Dropout")
    {
        _probability = probability;
    }

    public void Seed(RandomSource random) => _random = random;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override Tensor forward(Tensor input)
    {
        if (!training || _probability == 0)
        {
            return input.alias();
        }

        if (_random is null || input.device_type != DeviceType.CPU)
        {
            return nn.functional.dropout(input, _probability, training: true);
        }

        using Tensor mask = torch.empty(input.shape, ScalarType.Float32);
        Span<float> values = MemoryMarshal.Cast<byte, float>(mask.bytes); // the tensor's own memory
        if (_uniform.Length != values.Length)
        {
            _uniform = new double[values.Length];
        }

        _random.NextDoubles(_uniform); // one bulk draw per layer and batch
        float keepScale = (float)(1 / (1 - _probability));
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = _uniform[i] >= _probability ? keepScale : 0f;
        }

        return input * mask;
    }
}
