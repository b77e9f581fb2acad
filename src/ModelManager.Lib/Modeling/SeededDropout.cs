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
    private byte[] _bits = [];

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
        ReadOnlySpan<uint> bits = DrawBits(_random, ref _bits, values.Length);
        uint threshold = DropThreshold(_probability);
        float keepScale = (float)(1 / (1 - _probability));
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = bits[i] >= threshold ? keepScale : 0f;
        }

        return input * mask;
    }

    /// <summary>A unit is dropped when its 32 random bits fall below this: probability p to within 2⁻³².</summary>
    internal static uint DropThreshold(double probability) =>
        probability >= 1 ? uint.MaxValue : (uint)Math.Ceiling(probability * 4294967296.0);

    /// <summary>
    /// 32 random bits per unit from one bulk byte draw (the generator's fast path: 8 bytes per
    /// step, where drawing doubles costs a virtual call per value). The managed training engine
    /// draws the same way, so both training paths see the same masks for a seed.
    /// </summary>
    internal static ReadOnlySpan<uint> DrawBits(RandomSource random, ref byte[] buffer, int count)
    {
        if (buffer.Length != count * sizeof(uint))
        {
            buffer = new byte[count * sizeof(uint)];
        }

        random.NextBytes(buffer);
        return MemoryMarshal.Cast<byte, uint>(buffer);
    }
}
