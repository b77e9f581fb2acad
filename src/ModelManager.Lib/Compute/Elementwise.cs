using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace AgeGroupAnomaly.Compute;

/// <summary>
/// The element-wise loops the layers and the training step need, in vectors where the processor has
/// them (the JIT does not vectorise loops), each element computed exactly as its scalar tail does. Written here
/// rather than taken from System.Numerics.Tensors: that package ships without precompiled code, so
/// its generic primitives run unoptimised (tier 0) for the first part of every process, which made
/// the first training of a process measurably slower; these are compiled optimised from their first call.
/// </summary>
internal static class Elementwise
{
    /// <summary>values[i] = max(values[i], 0), NaN staying NaN (IEEE 754 maximum, as torch.relu).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Relu(Span<float> values)
    {
        ref float r = ref MemoryMarshal.GetReference(values);
        if (Vector512.IsHardwareAccelerated)
        {
            Relu<Lanes512>(ref r, values.Length);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Relu<Lanes256>(ref r, values.Length);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            Relu<Lanes128>(ref r, values.Length);
        }
        else
        {
            Relu<LanesScalar>(ref r, values.Length);
        }
    }

    /// <summary>sum[i] += values[i].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AddTo(Span<float> sum, ReadOnlySpan<float> values)
    {
        if (values.Length != sum.Length)
        {
            throw new ArgumentException($"{values.Length} values cannot be added to {sum.Length}.", nameof(values));
        }

        ref float s = ref MemoryMarshal.GetReference(sum);
        ref float v = ref MemoryMarshal.GetReference(values);
        if (Vector512.IsHardwareAccelerated)
        {
            AddTo<Lanes512>(ref s, ref v, sum.Length);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            AddTo<Lanes256>(ref s, ref v, sum.Length);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            AddTo<Lanes128>(ref s, ref v, sum.Length);
        }
        else
        {
            AddTo<LanesScalar>(ref s, ref v, sum.Length);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Relu<T>(ref float r, int length)
        where T : struct, ILanes<T>
    {
        int i = 0;
        for (; i <= length - T.Count; i += T.Count)
        {
            T.Store(T.Relu(T.Load(ref r, (nuint)i)), ref r, (nuint)i);
        }

        for (; i < length; i++)
        {
            Unsafe.Add(ref r, i) = MathF.Max(Unsafe.Add(ref r, i), 0f);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddTo<T>(ref float s, ref float v, int length)
        where T : struct, ILanes<T>
    {
        int i = 0;
        for (; i <= length - T.Count; i += T.Count)
        {
            T.Store(T.Add(T.Load(ref s, (nuint)i), T.Load(ref v, (nuint)i)), ref s, (nuint)i);
        }

        for (; i < length; i++)
        {
            Unsafe.Add(ref s, i) += Unsafe.Add(ref v, i);
        }
    }

    /// <summary>
    /// values[i] = max(values[i], 0) · (bits[i] ≥ <paramref name="threshold"/> ? <paramref name="keepScale"/> : 0):
    /// ReLU then inverted dropout, as the module runs them (NaN stays NaN; −0 becomes +0).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ReluDropout(Span<float> values, ReadOnlySpan<uint> bits, uint threshold, float keepScale)
    {
        bits = bits[..values.Length];
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var thresholds = new Vector<uint>(threshold);
            var scales = new Vector<float>(keepScale);
            for (; i <= values.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                Vector<float> relu = Vector.Max(new Vector<float>(values[i..]), Vector<float>.Zero);
                Vector<float> mask = Vector.ConditionalSelect(Vector.AsVectorSingle(Vector.GreaterThanOrEqual(new Vector<uint>(bits[i..]), thresholds)), scales, Vector<float>.Zero);
                (relu * mask).CopyTo(values[i..]);
            }
        }

        for (; i < values.Length; i++)
        {
            float relu = Math.Max(values[i], 0f);
            values[i] = relu * (bits[i] >= threshold ? keepScale : 0f);
        }
    }

    /// <summary>result[i] = (y[i] − x[i]) · <paramref name="scale"/> (the MSE loss's gradient).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ScaledDifference(ReadOnlySpan<float> y, ReadOnlySpan<float> x, float scale, Span<float> result)
    {
        y = y[..result.Length];
        x = x[..result.Length];
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var scales = new Vector<float>(scale);
            for (; i <= result.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                ((new Vector<float>(y[i..]) - new Vector<float>(x[i..])) * scales).CopyTo(result[i..]);
            }
        }

        for (; i < result.Length; i++)
        {
            result[i] = (y[i] - x[i]) * scale;
        }
    }

    /// <summary>
    /// gradient[i] = output[i] &gt; 0 ? gradient[i] · <paramref name="scale"/> : 0: a gradient through
    /// relu(z) · mask, mask ∈ {0, scale}, where an output above zero means both z &gt; 0 and a kept unit.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void KeepWherePositive(Span<float> gradient, ReadOnlySpan<float> output, float scale)
    {
        output = output[..gradient.Length];
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var scales = new Vector<float>(scale);
            for (; i <= gradient.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                Vector<int> passes = Vector.GreaterThan(new Vector<float>(output[i..]), Vector<float>.Zero);
                Vector.ConditionalSelect(Vector.AsVectorSingle(passes), new Vector<float>(gradient[i..]) * scales, Vector<float>.Zero).CopyTo(gradient[i..]);
            }
        }

        for (; i < gradient.Length; i++)
        {
            gradient[i] = output[i] > 0 ? gradient[i] * scale : 0f;
        }
    }
}
