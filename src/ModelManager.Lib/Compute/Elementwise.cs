using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace AgeGroupAnomaly.Compute;

/// <summary>
/// The two element-wise loops the layers need, at the active <see cref="SimdPath"/>. Written here
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
}
