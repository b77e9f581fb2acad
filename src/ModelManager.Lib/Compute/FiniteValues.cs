using System.Globalization;

namespace AgeGroupAnomaly.Compute;

/// <summary>The finite-value check every embedding passes (stored samples, training rows, scored embeddings).</summary>
internal static class FiniteValues
{
    /// <summary>Throws naming the first row that holds NaN or infinity.</summary>
    public static void EnsureFinite(ReadOnlySpan<float> values, int dimension, string what = "Row")
    {
        if (IsAllFinite(values))
        {
            return;
        }

        for (int i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                int row = i / dimension;
                throw new InvalidEmbeddingException(
                    string.Create(CultureInfo.InvariantCulture, $"{what} {row} holds {values[i]} at position {i % dimension}; embeddings must be finite numbers."),
                    row);
            }
        }
    }

    /// <summary>
    /// Whether every value is finite, a vector at a time: x − x is 0 for a finite x and NaN for ±∞
    /// or NaN. Scoring checks every embedding, so this runs once per value scored.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static bool IsAllFinite(ReadOnlySpan<float> values)
    {
        ref float r = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(values);
        return System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated ? IsAllFinite<Lanes512>(ref r, values.Length)
            : System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated ? IsAllFinite<Lanes256>(ref r, values.Length)
            : System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated ? IsAllFinite<Lanes128>(ref r, values.Length)
            : IsAllFinite<LanesScalar>(ref r, values.Length);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static bool IsAllFinite<T>(ref float r, int length)
        where T : struct, ILanes<T>
    {
        int i = 0;
        for (; i <= length - T.Count; i += T.Count)
        {
            if (!T.AllFinite(T.Load(ref r, (nuint)i)))
            {
                return false;
            }
        }

        for (; i < length; i++)
        {
            if (!float.IsFinite(System.Runtime.CompilerServices.Unsafe.Add(ref r, i)))
            {
                return false;
            }
        }

        return true;
    }
}
