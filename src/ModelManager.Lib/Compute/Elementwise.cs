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

    /// <summary>
    /// Σ ((double)x[i] − y[i])² over sixteen partial sums (element i into sum i mod 16), added
    /// pairwise, then the tail: sixteen independent addition chains instead of one, and the same
    /// operations in the same order on every SIMD path (a training's loss steers early stopping and
    /// the learning-rate schedule, so it must not depend on the processor). Accumulated in double
    /// (the training loss; it is reported as a float).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double SquaredDistance(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        int n = x.Length;
        y = y[..n];
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        Span<double> partial = stackalloc double[16];
        int i = 0;
        if (Vector128.IsHardwareAccelerated)
        {
            // Eight two-lane sums: lane k of sum s holds element 2s + k of each block of sixteen.
            Vector128<double> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
            for (; i <= n - 16; i += 16)
            {
                (Vector128<double> x0, Vector128<double> x1) = Vector128.Widen(Vector128.LoadUnsafe(ref xr, (nuint)i));
                (Vector128<double> y0, Vector128<double> y1) = Vector128.Widen(Vector128.LoadUnsafe(ref yr, (nuint)i));
                (Vector128<double> x2, Vector128<double> x3) = Vector128.Widen(Vector128.LoadUnsafe(ref xr, (nuint)(i + 4)));
                (Vector128<double> y2, Vector128<double> y3) = Vector128.Widen(Vector128.LoadUnsafe(ref yr, (nuint)(i + 4)));
                (Vector128<double> x4, Vector128<double> x5) = Vector128.Widen(Vector128.LoadUnsafe(ref xr, (nuint)(i + 8)));
                (Vector128<double> y4, Vector128<double> y5) = Vector128.Widen(Vector128.LoadUnsafe(ref yr, (nuint)(i + 8)));
                (Vector128<double> x6, Vector128<double> x7) = Vector128.Widen(Vector128.LoadUnsafe(ref xr, (nuint)(i + 12)));
                (Vector128<double> y6, Vector128<double> y7) = Vector128.Widen(Vector128.LoadUnsafe(ref yr, (nuint)(i + 12)));
                Vector128<double> d0 = x0 - y0, d1 = x1 - y1, d2 = x2 - y2, d3 = x3 - y3, d4 = x4 - y4, d5 = x5 - y5, d6 = x6 - y6, d7 = x7 - y7;
                s0 += d0 * d0;
                s1 += d1 * d1;
                s2 += d2 * d2;
                s3 += d3 * d3;
                s4 += d4 * d4;
                s5 += d5 * d5;
                s6 += d6 * d6;
                s7 += d7 * d7;
            }

            s0.CopyTo(partial);
            s1.CopyTo(partial[2..]);
            s2.CopyTo(partial[4..]);
            s3.CopyTo(partial[6..]);
            s4.CopyTo(partial[8..]);
            s5.CopyTo(partial[10..]);
            s6.CopyTo(partial[12..]);
            s7.CopyTo(partial[14..]);
        }
        else
        {
            partial.Clear();
            for (; i <= n - 16; i += 16)
            {
                for (int k = 0; k < 16; k++)
                {
                    double d = (double)Unsafe.Add(ref xr, i + k) - Unsafe.Add(ref yr, i + k);
                    partial[k] += d * d;
                }
            }
        }

        double sum = (((partial[0] + partial[1]) + (partial[2] + partial[3])) + ((partial[4] + partial[5]) + (partial[6] + partial[7])))
            + (((partial[8] + partial[9]) + (partial[10] + partial[11])) + ((partial[12] + partial[13]) + (partial[14] + partial[15])));
        for (; i < n; i++)
        {
            double d = (double)Unsafe.Add(ref xr, i) - Unsafe.Add(ref yr, i);
            sum += d * d;
        }

        return sum;
    }
}
