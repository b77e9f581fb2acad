using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AgeGroupAnomaly.Training;

/// <summary>
/// Gradient clipping to a global L2 norm and an Adam step (PyTorch's defaults: betas 0.9/0.999,
/// eps 1e-8, no weight decay, no AMSGrad) fused into two passes of managed code over the
/// parameters' and gradients' own CPU memory. TorchSharp's <c>clip_grad_norm_</c> plus
/// <c>Adam.step</c> issue about a dozen native tensor operations per parameter per batch; for
/// these small models that overhead cost more than forward and backward together.
/// </summary>
/// <remarks>The update is PyTorch's Adam formula term for term; tests compare it with TorchSharp's.</remarks>
internal sealed class FusedAdam : IOptimizerStep
{
    private const float Beta1 = 0.9f;
    private const float Beta2 = 0.999f;
    private const float Epsilon = 1e-8f;

    private readonly Parameter[] _parameters;
    private readonly float[][] _firstMoment;
    private readonly float[][] _secondMoment;
    private int _step;

    public FusedAdam(IEnumerable<Parameter> parameters, double learningRate)
    {
        _parameters = [.. parameters];
        foreach (Parameter p in _parameters)
        {
            if (p.device_type != DeviceType.CPU || !p.is_contiguous() || p.dtype != ScalarType.Float32)
            {
                throw new NotSupportedException("The fused Adam step needs contiguous float32 parameters on the CPU.");
            }
        }

        _firstMoment = [.. _parameters.Select(p => new float[p.numel()])];
        _secondMoment = [.. _parameters.Select(p => new float[p.numel()])];
        LearningRate = learningRate;
    }

    public double LearningRate { get; set; }

    /// <summary>Drops the gradients so the next backward pass writes fresh ones instead of adding to zeros.</summary>
    public void ZeroGrad()
    {
        foreach (Parameter p in _parameters)
        {
            p.grad = null;
        }
    }

    /// <summary>Clips all gradients together to <paramref name="maxNorm"/>, then takes one Adam step.</summary>
    public void ClipAndStep(double maxNorm)
    {
        double sumOfSquares = 0;
        foreach (Parameter p in _parameters)
        {
            sumOfSquares += SumOfSquares(Gradient(p));
        }

        double totalNorm = Math.Sqrt(sumOfSquares);

        // As torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) only when below 1.
        double clip = maxNorm / (totalNorm + 1e-6);
        float gradientScale = clip < 1 ? (float)clip : 1f;

        _step++;
        double bias1 = 1 - Math.Pow(Beta1, _step);
        double bias2 = 1 - Math.Pow(Beta2, _step);
        float stepSize = (float)(LearningRate / bias1);
        float bias2Sqrt = (float)Math.Sqrt(bias2);
        for (int i = 0; i < _parameters.Length; i++)
        {
            if (_parameters[i].grad is null)
            {
                continue; // no gradient reached this parameter: PyTorch's Adam skips it too
            }

            Update(Values(_parameters[i]), Gradient(_parameters[i]), _firstMoment[i], _secondMoment[i], gradientScale, stepSize, bias2Sqrt);
        }
    }

    public void Dispose()
    {
        // Managed state only.
    }

    // Optimised from the first call (no tier-0 code): a training run may not last long enough for
    // tiered compilation to promote these loops. Vectorised and scalar paths perform the same IEEE operations in the same order per element
    // (no fused multiply-add), so the result does not depend on where the vector loop ends.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Update(Span<float> p, ReadOnlySpan<float> g, Span<float> m, Span<float> v, float gradientScale, float stepSize, float bias2Sqrt)
    {
        ref float pr = ref MemoryMarshal.GetReference(p);
        ref float gr = ref MemoryMarshal.GetReference(g);
        ref float mr = ref MemoryMarshal.GetReference(m);
        ref float vr = ref MemoryMarshal.GetReference(v);
        int n = p.Length;
        int k = 0;
        var scale = Vector256.Create(gradientScale);
        var oneMinusBeta1 = Vector256.Create(1 - Beta1);
        var beta2 = Vector256.Create(Beta2);
        var oneMinusBeta2 = Vector256.Create(1 - Beta2);
        var sqrtBias2 = Vector256.Create(bias2Sqrt);
        var epsilon = Vector256.Create(Epsilon);
        var step = Vector256.Create(stepSize);
        for (; k <= n - 8; k += 8)
        {
            Vector256<float> grad = Vector256.LoadUnsafe(ref gr, (nuint)k) * scale;
            Vector256<float> mk = Vector256.LoadUnsafe(ref mr, (nuint)k);
            mk += (grad - mk) * oneMinusBeta1;
            Vector256<float> vk = (Vector256.LoadUnsafe(ref vr, (nuint)k) * beta2) + (oneMinusBeta2 * grad * grad);
            mk.StoreUnsafe(ref mr, (nuint)k);
            vk.StoreUnsafe(ref vr, (nuint)k);
            Vector256<float> denominator = (Vector256.Sqrt(vk) / sqrtBias2) + epsilon;
            (Vector256.LoadUnsafe(ref pr, (nuint)k) - (step * (mk / denominator))).StoreUnsafe(ref pr, (nuint)k);
        }

        for (; k < n; k++)
        {
            float grad = g[k] * gradientScale;
            float mk = m[k] + ((grad - m[k]) * (1 - Beta1)); // exp_avg.lerp_(grad, 1 - beta1)
            float vk = (v[k] * Beta2) + ((1 - Beta2) * grad * grad); // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2)
            m[k] = mk;
            v[k] = vk;
            float denominator = (MathF.Sqrt(vk) / bias2Sqrt) + Epsilon;
            p[k] -= stepSize * (mk / denominator);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double SumOfSquares(ReadOnlySpan<float> values)
    {
        ref float r = ref MemoryMarshal.GetReference(values);
        int k = 0;
        Vector256<double> acc = Vector256<double>.Zero;
        for (; k <= values.Length - 8; k += 8)
        {
            (Vector256<double> lower, Vector256<double> upper) = Vector256.Widen(Vector256.LoadUnsafe(ref r, (nuint)k));
            acc += (lower * lower) + (upper * upper);
        }

        double sum = Vector256.Sum(acc);
        for (; k < values.Length; k++)
        {
            sum += (double)values[k] * values[k];
        }

        return sum;
    }

    private static Span<float> Values(Parameter p) => MemoryMarshal.Cast<byte, float>(p.bytes);

    private static ReadOnlySpan<float> Gradient(Parameter p) =>
        p.grad is { } g ? MemoryMarshal.Cast<byte, float>(g.bytes) : ReadOnlySpan<float>.Empty;
}
