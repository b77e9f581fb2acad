using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace AgeGroupAnomaly.Compute;

/// <summary>
/// The two small matrix products a dense layer needs, in managed AVX2/FMA code, for row-major float
/// matrices. Both compute a column range [<c>j0</c>, <c>j1</c>) of the result so callers can split
/// one product across threads; every result element is computed the same way whatever the split,
/// so the result does not depend on the thread count.
/// </summary>
/// <remarks>
/// For the batch sizes of this library (tens of rows) libtorch spends more time dispatching each
/// operation than computing it; these kernels keep their operands in registers and L1 instead.
/// </remarks>
internal static class MatrixKernels
{
    /// <summary>
    /// C[i, j] = bias[j] + Σ_p A[i, p] · B[j, p] for i in [0, m), j in [j0, j1): a dense layer's
    /// forward pass, with B the layer's [out × in] weight exactly as PyTorch stores it. Each element
    /// is an 8-lane FMA accumulation, a lane sum, then FMAs over the tail: the order
    /// <see cref="InferenceKernel"/> uses for one embedding, so a row's result does not
    /// depend on the rows around it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MultiplyTransposed(ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, ReadOnlySpan<float> bias, Span<float> c, int ldc, int m, int depth, int j0, int j1)
    {
        Debug.Assert(m == 0 || a.Length >= ((m - 1) * lda) + depth);
        Debug.Assert(j1 == 0 || b.Length >= ((j1 - 1) * ldb) + depth);
        Debug.Assert(bias.Length >= j1 && (m == 0 || c.Length >= ((m - 1) * ldc) + j1));
        ref float ar = ref MemoryMarshal.GetReference(a);
        ref float br = ref MemoryMarshal.GetReference(b);
        ref float cr = ref MemoryMarshal.GetReference(c);
        ref float biasr = ref MemoryMarshal.GetReference(bias);
        // Quads of B rows outermost (they stay in L1), triples of A rows inside (twelve accumulators,
        // all sixteen vector registers): each A load feeds four FMAs and each B load three, so the
        // rows of A, re-read from L2 for every quad, cost half a byte per multiply-add. A remaining
        // pair of rows takes a 2 × 4 tile, a last row plain dot products: same order per element.
        int j = j0;
        for (; j <= j1 - 4; j += 4)
        {
            ref float b0 = ref Unsafe.Add(ref br, j * ldb);
            int i = 0;
            for (; i <= m - 3; i += 3)
            {
                Tile3x4(ref Unsafe.Add(ref ar, i * lda), lda, ref b0, ldb, depth, ref Unsafe.Add(ref biasr, j), ref Unsafe.Add(ref cr, (i * ldc) + j), ldc);
            }

            for (; i <= m - 2; i += 2)
            {
                Tile2x4(ref Unsafe.Add(ref ar, i * lda), lda, ref b0, ldb, depth, ref Unsafe.Add(ref biasr, j), ref Unsafe.Add(ref cr, (i * ldc) + j), ldc);
            }

            for (; i < m; i++)
            {
                for (int q = 0; q < 4; q++)
                {
                    Unsafe.Add(ref cr, (i * ldc) + j + q) = Dot(ref Unsafe.Add(ref ar, i * lda), ref Unsafe.Add(ref br, (j + q) * ldb), depth) + Unsafe.Add(ref biasr, j + q);
                }
            }
        }

        for (; j < j1; j++)
        {
            for (int i = 0; i < m; i++)
            {
                Unsafe.Add(ref cr, (i * ldc) + j) = Dot(ref Unsafe.Add(ref ar, i * lda), ref Unsafe.Add(ref br, j * ldb), depth) + Unsafe.Add(ref biasr, j);
            }
        }
    }

    /// <summary>
    /// C[i, j] = Σ_p A(i, p) · B[p, j] for i in [0, m), j in [j0, j1), where A(i, p) is
    /// a[i · <paramref name="aRowStride"/> + p · <paramref name="aDepthStride"/>]: with strides
    /// (k, 1) that is A·B, with strides (1, m) it is Aᵀ·B. The backward pass of a dense layer is
    /// one of each (input gradient dY·W, weight gradient dYᵀ·X).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Multiply(ReadOnlySpan<float> a, int aRowStride, int aDepthStride, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, int m, int depth, int j0, int j1)
    {
        Debug.Assert(m == 0 || depth == 0 || a.Length > ((m - 1) * aRowStride) + ((depth - 1) * aDepthStride));
        Debug.Assert(depth == 0 || b.Length >= ((depth - 1) * ldb) + j1);
        Debug.Assert(m == 0 || c.Length >= ((m - 1) * ldc) + j1);
        ref float ar = ref MemoryMarshal.GetReference(a);
        ref float br = ref MemoryMarshal.GetReference(b);
        ref float cr = ref MemoryMarshal.GetReference(c);

        // Column strips outermost, and depth in blocks: one block of a strip of B (DepthBlock × 16
        // floats, 8 KB) stays in L1 for every row block. Later depth blocks continue each element's
        // sum from the stored partial, so the blocking does not change any result.
        int j = j0;
        for (; j <= j1 - 16; j += 16)
        {
            for (int p0 = 0; p0 < depth; p0 += DepthBlock)
            {
                int p1 = Math.Min(depth, p0 + DepthBlock);
                Strip(ref ar, aRowStride, aDepthStride, ref Unsafe.Add(ref br, j), ldb, ref Unsafe.Add(ref cr, j), ldc, m, p0, p1);
            }

            if (depth == 0)
            {
                for (int i = 0; i < m; i++)
                {
                    Vector256<float>.Zero.StoreUnsafe(ref Unsafe.Add(ref cr, (i * ldc) + j));
                    Vector256<float>.Zero.StoreUnsafe(ref Unsafe.Add(ref cr, (i * ldc) + j + 8));
                }
            }
        }

        // Remaining columns (fewer than 16): one at a time, in the same order per element.
        for (; j < j1; j++)
        {
            for (int i = 0; i < m; i++)
            {
                ref float ai = ref Unsafe.Add(ref ar, i * aRowStride);
                float sum = 0;
                for (int p = 0; p < depth; p++)
                {
                    sum = MathF.FusedMultiplyAdd(Unsafe.Add(ref ai, p * aDepthStride), Unsafe.Add(ref br, (p * ldb) + j), sum);
                }

                Unsafe.Add(ref cr, (i * ldc) + j) = sum;
            }
        }
    }

    /// <summary>Rows a0, a0 + lda of C, columns j … j + 3 (weight rows b0 … b0 + 3·ldb).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile2x4(ref float a0, int lda, ref float b0, int ldb, int depth, ref float bias, ref float row, int ldc)
    {
        ref float a1 = ref Unsafe.Add(ref a0, lda);
        ref float b1 = ref Unsafe.Add(ref b0, ldb);
        ref float b2 = ref Unsafe.Add(ref b1, ldb);
        ref float b3 = ref Unsafe.Add(ref b2, ldb);
        Vector256<float> c00 = Vector256<float>.Zero, c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00;
        int p = 0;
        for (; p <= depth - 8; p += 8)
        {
            Vector256<float> x0 = Vector256.LoadUnsafe(ref a0, (nuint)p);
            Vector256<float> x1 = Vector256.LoadUnsafe(ref a1, (nuint)p);
            Vector256<float> w = Vector256.LoadUnsafe(ref b0, (nuint)p);
            c00 = Vector256.FusedMultiplyAdd(x0, w, c00);
            c10 = Vector256.FusedMultiplyAdd(x1, w, c10);
            w = Vector256.LoadUnsafe(ref b1, (nuint)p);
            c01 = Vector256.FusedMultiplyAdd(x0, w, c01);
            c11 = Vector256.FusedMultiplyAdd(x1, w, c11);
            w = Vector256.LoadUnsafe(ref b2, (nuint)p);
            c02 = Vector256.FusedMultiplyAdd(x0, w, c02);
            c12 = Vector256.FusedMultiplyAdd(x1, w, c12);
            w = Vector256.LoadUnsafe(ref b3, (nuint)p);
            c03 = Vector256.FusedMultiplyAdd(x0, w, c03);
            c13 = Vector256.FusedMultiplyAdd(x1, w, c13);
        }

        float s00 = Vector256.Sum(c00), s01 = Vector256.Sum(c01), s02 = Vector256.Sum(c02), s03 = Vector256.Sum(c03);
        float s10 = Vector256.Sum(c10), s11 = Vector256.Sum(c11), s12 = Vector256.Sum(c12), s13 = Vector256.Sum(c13);
        for (; p < depth; p++)
        {
            float x0 = Unsafe.Add(ref a0, p), x1 = Unsafe.Add(ref a1, p);
            float w0 = Unsafe.Add(ref b0, p), w1 = Unsafe.Add(ref b1, p), w2 = Unsafe.Add(ref b2, p), w3 = Unsafe.Add(ref b3, p);
            s00 = MathF.FusedMultiplyAdd(x0, w0, s00);
            s01 = MathF.FusedMultiplyAdd(x0, w1, s01);
            s02 = MathF.FusedMultiplyAdd(x0, w2, s02);
            s03 = MathF.FusedMultiplyAdd(x0, w3, s03);
            s10 = MathF.FusedMultiplyAdd(x1, w0, s10);
            s11 = MathF.FusedMultiplyAdd(x1, w1, s11);
            s12 = MathF.FusedMultiplyAdd(x1, w2, s12);
            s13 = MathF.FusedMultiplyAdd(x1, w3, s13);
        }

        Store4(ref row, s00, s01, s02, s03, ref bias);
        Store4(ref Unsafe.Add(ref row, ldc), s10, s11, s12, s13, ref bias);
    }

    /// <summary>Rows a0, a0 + lda, a0 + 2·lda of C, columns j … j + 3: twelve accumulators, each load of A feeding four FMAs and each load of B three.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile3x4(ref float a0, int lda, ref float b0, int ldb, int depth, ref float bias, ref float row, int ldc)
    {
        ref float a1 = ref Unsafe.Add(ref a0, lda);
        ref float a2 = ref Unsafe.Add(ref a1, lda);
        ref float b1 = ref Unsafe.Add(ref b0, ldb);
        ref float b2 = ref Unsafe.Add(ref b1, ldb);
        ref float b3 = ref Unsafe.Add(ref b2, ldb);
        Vector256<float> c00 = Vector256<float>.Zero, c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00, c20 = c00, c21 = c00, c22 = c00, c23 = c00;
        int p = 0;
        for (; p <= depth - 8; p += 8)
        {
            Vector256<float> x0 = Vector256.LoadUnsafe(ref a0, (nuint)p);
            Vector256<float> x1 = Vector256.LoadUnsafe(ref a1, (nuint)p);
            Vector256<float> x2 = Vector256.LoadUnsafe(ref a2, (nuint)p);
            Vector256<float> w = Vector256.LoadUnsafe(ref b0, (nuint)p);
            c00 = Vector256.FusedMultiplyAdd(x0, w, c00);
            c10 = Vector256.FusedMultiplyAdd(x1, w, c10);
            c20 = Vector256.FusedMultiplyAdd(x2, w, c20);
            w = Vector256.LoadUnsafe(ref b1, (nuint)p);
            c01 = Vector256.FusedMultiplyAdd(x0, w, c01);
            c11 = Vector256.FusedMultiplyAdd(x1, w, c11);
            c21 = Vector256.FusedMultiplyAdd(x2, w, c21);
            w = Vector256.LoadUnsafe(ref b2, (nuint)p);
            c02 = Vector256.FusedMultiplyAdd(x0, w, c02);
            c12 = Vector256.FusedMultiplyAdd(x1, w, c12);
            c22 = Vector256.FusedMultiplyAdd(x2, w, c22);
            w = Vector256.LoadUnsafe(ref b3, (nuint)p);
            c03 = Vector256.FusedMultiplyAdd(x0, w, c03);
            c13 = Vector256.FusedMultiplyAdd(x1, w, c13);
            c23 = Vector256.FusedMultiplyAdd(x2, w, c23);
        }

        float s00 = Vector256.Sum(c00), s01 = Vector256.Sum(c01), s02 = Vector256.Sum(c02), s03 = Vector256.Sum(c03);
        float s10 = Vector256.Sum(c10), s11 = Vector256.Sum(c11), s12 = Vector256.Sum(c12), s13 = Vector256.Sum(c13);
        float s20 = Vector256.Sum(c20), s21 = Vector256.Sum(c21), s22 = Vector256.Sum(c22), s23 = Vector256.Sum(c23);
        for (; p < depth; p++)
        {
            float x0 = Unsafe.Add(ref a0, p), x1 = Unsafe.Add(ref a1, p), x2 = Unsafe.Add(ref a2, p);
            float w0 = Unsafe.Add(ref b0, p), w1 = Unsafe.Add(ref b1, p), w2 = Unsafe.Add(ref b2, p), w3 = Unsafe.Add(ref b3, p);
            s00 = MathF.FusedMultiplyAdd(x0, w0, s00);
            s01 = MathF.FusedMultiplyAdd(x0, w1, s01);
            s02 = MathF.FusedMultiplyAdd(x0, w2, s02);
            s03 = MathF.FusedMultiplyAdd(x0, w3, s03);
            s10 = MathF.FusedMultiplyAdd(x1, w0, s10);
            s11 = MathF.FusedMultiplyAdd(x1, w1, s11);
            s12 = MathF.FusedMultiplyAdd(x1, w2, s12);
            s13 = MathF.FusedMultiplyAdd(x1, w3, s13);
            s20 = MathF.FusedMultiplyAdd(x2, w0, s20);
            s21 = MathF.FusedMultiplyAdd(x2, w1, s21);
            s22 = MathF.FusedMultiplyAdd(x2, w2, s22);
            s23 = MathF.FusedMultiplyAdd(x2, w3, s23);
        }

        Store4(ref row, s00, s01, s02, s03, ref bias);
        Store4(ref Unsafe.Add(ref row, ldc), s10, s11, s12, s13, ref bias);
        Store4(ref Unsafe.Add(ref row, 2 * ldc), s20, s21, s22, s23, ref bias);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store4(ref float row, float s0, float s1, float s2, float s3, ref float bias)
    {
        row = s0 + bias;
        Unsafe.Add(ref row, 1) = s1 + Unsafe.Add(ref bias, 1);
        Unsafe.Add(ref row, 2) = s2 + Unsafe.Add(ref bias, 2);
        Unsafe.Add(ref row, 3) = s3 + Unsafe.Add(ref bias, 3);
    }

    /// <summary>Six rows of a 16-column strip: twelve accumulators, two B loads and six broadcasts per step of depth.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Strip6(ref float a0, int aRowStride, int aDepthStride, ref float bStrip, int ldb, ref float row0, int ldc, int p0, int p1, bool first)
    {
        ref float a1 = ref Unsafe.Add(ref a0, aRowStride);
        ref float a2 = ref Unsafe.Add(ref a1, aRowStride);
        ref float a3 = ref Unsafe.Add(ref a2, aRowStride);
        ref float a4 = ref Unsafe.Add(ref a3, aRowStride);
        ref float a5 = ref Unsafe.Add(ref a4, aRowStride);
        ref float row1 = ref Unsafe.Add(ref row0, ldc);
        ref float row2 = ref Unsafe.Add(ref row1, ldc);
        ref float row3 = ref Unsafe.Add(ref row2, ldc);
        ref float row4 = ref Unsafe.Add(ref row3, ldc);
        ref float row5 = ref Unsafe.Add(ref row4, ldc);
        Vector256<float> c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
        if (first)
        {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = Vector256<float>.Zero;
        }
        else
        {
            c00 = Vector256.LoadUnsafe(ref row0);
            c01 = Vector256.LoadUnsafe(ref row0, 8);
            c10 = Vector256.LoadUnsafe(ref row1);
            c11 = Vector256.LoadUnsafe(ref row1, 8);
            c20 = Vector256.LoadUnsafe(ref row2);
            c21 = Vector256.LoadUnsafe(ref row2, 8);
            c30 = Vector256.LoadUnsafe(ref row3);
            c31 = Vector256.LoadUnsafe(ref row3, 8);
            c40 = Vector256.LoadUnsafe(ref row4);
            c41 = Vector256.LoadUnsafe(ref row4, 8);
            c50 = Vector256.LoadUnsafe(ref row5);
            c51 = Vector256.LoadUnsafe(ref row5, 8);
        }

        for (int p = p0; p < p1; p++)
        {
            ref float bRow = ref Unsafe.Add(ref bStrip, p * ldb);
            Vector256<float> b0 = Vector256.LoadUnsafe(ref bRow);
            Vector256<float> b1 = Vector256.LoadUnsafe(ref bRow, 8);
            int offset = p * aDepthStride;
            Vector256<float> x = Vector256.Create(Unsafe.Add(ref a0, offset));
            c00 = Vector256.FusedMultiplyAdd(x, b0, c00);
            c01 = Vector256.FusedMultiplyAdd(x, b1, c01);
            x = Vector256.Create(Unsafe.Add(ref a1, offset));
            c10 = Vector256.FusedMultiplyAdd(x, b0, c10);
            c11 = Vector256.FusedMultiplyAdd(x, b1, c11);
            x = Vector256.Create(Unsafe.Add(ref a2, offset));
            c20 = Vector256.FusedMultiplyAdd(x, b0, c20);
            c21 = Vector256.FusedMultiplyAdd(x, b1, c21);
            x = Vector256.Create(Unsafe.Add(ref a3, offset));
            c30 = Vector256.FusedMultiplyAdd(x, b0, c30);
            c31 = Vector256.FusedMultiplyAdd(x, b1, c31);
            x = Vector256.Create(Unsafe.Add(ref a4, offset));
            c40 = Vector256.FusedMultiplyAdd(x, b0, c40);
            c41 = Vector256.FusedMultiplyAdd(x, b1, c41);
            x = Vector256.Create(Unsafe.Add(ref a5, offset));
            c50 = Vector256.FusedMultiplyAdd(x, b0, c50);
            c51 = Vector256.FusedMultiplyAdd(x, b1, c51);
        }

        c00.StoreUnsafe(ref row0);
        c01.StoreUnsafe(ref row0, 8);
        c10.StoreUnsafe(ref row1);
        c11.StoreUnsafe(ref row1, 8);
        c20.StoreUnsafe(ref row2);
        c21.StoreUnsafe(ref row2, 8);
        c30.StoreUnsafe(ref row3);
        c31.StoreUnsafe(ref row3, 8);
        c40.StoreUnsafe(ref row4);
        c41.StoreUnsafe(ref row4, 8);
        c50.StoreUnsafe(ref row5);
        c51.StoreUnsafe(ref row5, 8);
    }

    private const int DepthBlock = 128;

    /// <summary>Columns [0, 16) of C (rows 0..m) over depth [p0, p1); the first block starts from zero, later ones from C.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Strip(ref float ar, int aRowStride, int aDepthStride, ref float bStrip, int ldb, ref float cStrip, int ldc, int m, int p0, int p1)
    {
        bool first = p0 == 0;
        int i = 0;
        for (; i <= m - 6; i += 6)
        {
            Strip6(ref Unsafe.Add(ref ar, i * aRowStride), aRowStride, aDepthStride, ref bStrip, ldb, ref Unsafe.Add(ref cStrip, i * ldc), ldc, p0, p1, first);
        }

        for (; i <= m - 4; i += 4)
        {
            ref float a0 = ref Unsafe.Add(ref ar, i * aRowStride);
            ref float a1 = ref Unsafe.Add(ref a0, aRowStride);
            ref float a2 = ref Unsafe.Add(ref a1, aRowStride);
            ref float a3 = ref Unsafe.Add(ref a2, aRowStride);
            ref float row0 = ref Unsafe.Add(ref cStrip, i * ldc);
            ref float row1 = ref Unsafe.Add(ref row0, ldc);
            ref float row2 = ref Unsafe.Add(ref row1, ldc);
            ref float row3 = ref Unsafe.Add(ref row2, ldc);
            Vector256<float> c00, c01, c10, c11, c20, c21, c30, c31;
            if (first)
            {
                c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = Vector256<float>.Zero;
            }
            else
            {
                c00 = Vector256.LoadUnsafe(ref row0);
                c01 = Vector256.LoadUnsafe(ref row0, 8);
                c10 = Vector256.LoadUnsafe(ref row1);
                c11 = Vector256.LoadUnsafe(ref row1, 8);
                c20 = Vector256.LoadUnsafe(ref row2);
                c21 = Vector256.LoadUnsafe(ref row2, 8);
                c30 = Vector256.LoadUnsafe(ref row3);
                c31 = Vector256.LoadUnsafe(ref row3, 8);
            }

            for (int p = p0; p < p1; p++)
            {
                ref float bRow = ref Unsafe.Add(ref bStrip, p * ldb);
                Vector256<float> b0 = Vector256.LoadUnsafe(ref bRow);
                Vector256<float> b1 = Vector256.LoadUnsafe(ref bRow, 8);
                int offset = p * aDepthStride;
                Vector256<float> x = Vector256.Create(Unsafe.Add(ref a0, offset));
                c00 = Vector256.FusedMultiplyAdd(x, b0, c00);
                c01 = Vector256.FusedMultiplyAdd(x, b1, c01);
                x = Vector256.Create(Unsafe.Add(ref a1, offset));
                c10 = Vector256.FusedMultiplyAdd(x, b0, c10);
                c11 = Vector256.FusedMultiplyAdd(x, b1, c11);
                x = Vector256.Create(Unsafe.Add(ref a2, offset));
                c20 = Vector256.FusedMultiplyAdd(x, b0, c20);
                c21 = Vector256.FusedMultiplyAdd(x, b1, c21);
                x = Vector256.Create(Unsafe.Add(ref a3, offset));
                c30 = Vector256.FusedMultiplyAdd(x, b0, c30);
                c31 = Vector256.FusedMultiplyAdd(x, b1, c31);
            }

            c00.StoreUnsafe(ref row0);
            c01.StoreUnsafe(ref row0, 8);
            c10.StoreUnsafe(ref row1);
            c11.StoreUnsafe(ref row1, 8);
            c20.StoreUnsafe(ref row2);
            c21.StoreUnsafe(ref row2, 8);
            c30.StoreUnsafe(ref row3);
            c31.StoreUnsafe(ref row3, 8);
        }

        for (; i < m; i++)
        {
            ref float ai = ref Unsafe.Add(ref ar, i * aRowStride);
            ref float row = ref Unsafe.Add(ref cStrip, i * ldc);
            Vector256<float> c0 = first ? Vector256<float>.Zero : Vector256.LoadUnsafe(ref row);
            Vector256<float> c1 = first ? Vector256<float>.Zero : Vector256.LoadUnsafe(ref row, 8);
            for (int p = p0; p < p1; p++)
            {
                ref float bRow = ref Unsafe.Add(ref bStrip, p * ldb);
                Vector256<float> x = Vector256.Create(Unsafe.Add(ref ai, p * aDepthStride));
                c0 = Vector256.FusedMultiplyAdd(x, Vector256.LoadUnsafe(ref bRow), c0);
                c1 = Vector256.FusedMultiplyAdd(x, Vector256.LoadUnsafe(ref bRow, 8), c1);
            }

            c0.StoreUnsafe(ref row);
            c1.StoreUnsafe(ref row, 8);
        }
    }

    /// <summary>Σ x[p]·y[p]: 8-lane FMA accumulation, lane sum, then FMAs over the tail (every kernel's per-element order).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float Dot(ref float x, ref float y, int length)
    {
        Vector256<float> acc = Vector256<float>.Zero;
        int p = 0;
        for (; p <= length - 8; p += 8)
        {
            acc = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref x, (nuint)p), Vector256.LoadUnsafe(ref y, (nuint)p), acc);
        }

        float sum = Vector256.Sum(acc);
        for (; p < length; p++)
        {
            sum = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, p), Unsafe.Add(ref y, p), sum);
        }

        return sum;
    }
}
