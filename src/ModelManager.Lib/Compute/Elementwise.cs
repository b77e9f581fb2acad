using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace AgeGroupAnomaly.Compute;

/// <summary>
/// The two element-wise loops the layers need. Written here rather than taken from
/// System.Numerics.Tensors: that package ships without precompiled code, so its generic
/// primitives run unoptimised (tier 0) for the first part of every process, which made the first
/// training of a process measurably slower; these are compiled optimised from their first call.
/// </summary>
internal static class Elementwise
{
    /// <summary>values[i] = max(values[i], 0), NaN staying NaN (IEEE 754 maximum, as torch.relu).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Relu(Span<float> values)
    {
        ref float r = ref MemoryMarshal.GetReference(values);
        int i = 0;
        for (; i <= values.Length - 8; i += 8)
        {
            Vector256.Max(Vector256.LoadUnsafe(ref r, (nuint)i), Vector256<float>.Zero).StoreUnsafe(ref r, (nuint)i);
        }

        for (; i < values.Length; i++)
        {
            Unsafe.Add(ref r, i) = Math.Max(Unsafe.Add(ref r, i), 0f);
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
        int i = 0;
        for (; i <= sum.Length - 8; i += 8)
        {
            (Vector256.LoadUnsafe(ref s, (nuint)i) + Vector256.LoadUnsafe(ref v, (nuint)i)).StoreUnsafe(ref s, (nuint)i);
        }

        for (; i < sum.Length; i++)
        {
            Unsafe.Add(ref s, i) += Unsafe.Add(ref v, i);
        }
    }
}
