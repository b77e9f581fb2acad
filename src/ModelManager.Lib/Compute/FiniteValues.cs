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
    /// Whether every value is finite, eight at a time: x − x is 0 for a finite x and NaN for ±∞ or
    /// NaN. Scoring checks every embedding, so this runs once per value scored.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static bool IsAllFinite(ReadOnlySpan<float> values)
    {
        ref float r = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(values);
        var bad = System.Runtime.Intrinsics.Vector256<float>.Zero;
        int i = 0;
        for (; i <= values.Length - 8; i += 8)
        {
            var v = System.Runtime.Intrinsics.Vector256.LoadUnsafe(ref r, (nuint)i);
            bad |= ~System.Runtime.Intrinsics.Vector256.Equals(v - v, System.Runtime.Intrinsics.Vector256<float>.Zero);
        }

        if (bad != System.Runtime.Intrinsics.Vector256<float>.Zero)
        {
            return false;
        }

        for (; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                return false;
            }
        }

        return true;
    }
}
