using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace AgeGroupAnomaly.Compute;

/// <summary>
/// The two small matrix products a dense layer needs, in managed SIMD code at the widest width the
/// processor offers (<see cref="SimdPaths.Active"/>), for row-major float matrices. Both compute a
/// column range [<c>j0</c>, <c>j1</c>) of the result so callers can split one product across
/// threads; every result element is computed the same way whatever the split, so the result does
/// not depend on the thread count.
/// </summary>
/// <remarks>
/// For the batch sizes of this library (tens of rows) libtorch spends more time dispatching each
/// operation than computing it; these kernels keep their operands in registers and L1 instead.
/// The kernels are generic over <see cref="ILanes{TSelf}"/> and each entry point picks the lane
/// type from JIT-time constants, so only the active width is compiled.
/// </remarks>
internal static class MatrixKernels
{
    private const int DepthBlock = 128;

    /// <summary>Bytes of A rows a block of <see cref="MultiplyTransposed{T}"/> keeps in L1 beside a quad of B rows (L1 holds 32–48 KB).</summary>
    private const int L1RowBytes = 24 * 1024;

    /// <summary>Columns of one strip of <see cref="Multiply"/> (four vectors with 32 registers, else two): column ranges aligned to it keep every strip whole.</summary>
    public static int StripWidth => (SimdPaths.ThirtyTwoRegisters ? 4 : 2) * SimdPaths.Width;

    /// <summary>Columns of the narrower strip <see cref="Multiply"/> also uses (two vectors).</summary>
    public static int NarrowStripWidth => 2 * SimdPaths.Width;

    /// <summary>
    /// C[i, j] = bias[j] + Σ_p A[i, p] · B[j, p] for i in [0, m), j in [j0, j1): a dense layer's
    /// forward pass, with B the layer's [out × in] weight exactly as PyTorch stores it. Each element
    /// is a lane-wise multiply-add accumulation, a lane sum, then multiply-adds over the tail, so a
    /// row's result does not depend on the rows around it. (Scoring uses <see cref="InferenceProducts"/>.)
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
        if (Vector512.IsHardwareAccelerated)
        {
            MultiplyTransposed<Lanes512>(ref ar, lda, ref br, ldb, ref biasr, ref cr, ldc, m, depth, j0, j1);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            MultiplyTransposed<Lanes256>(ref ar, lda, ref br, ldb, ref biasr, ref cr, ldc, m, depth, j0, j1);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            MultiplyTransposed<Lanes128>(ref ar, lda, ref br, ldb, ref biasr, ref cr, ldc, m, depth, j0, j1);
        }
        else
        {
            MultiplyTransposed<LanesScalar>(ref ar, lda, ref br, ldb, ref biasr, ref cr, ldc, m, depth, j0, j1);
        }
    }

    /// <summary>
    /// <see cref="MultiplyTransposed"/> for training: on AVX-512 with 256-bit lane sums (two of them per
    /// 512-bit register, <see cref="MultiplyTransposedInPairedLanes"/>), so a training computes
    /// exactly what it computes on an AVX2 machine (same weights, same threshold, same quality
    /// figures; AVX-512 rounding moved QuickStart's false alarms from 9.3 % to 10.8 %): its lane sums
    /// depend on the width. (The backward products need no such care: <see cref="Multiply"/> sums each
    /// element in depth order, the same at every width, so they run at the full width.) Narrower paths
    /// as <see cref="MultiplyTransposed"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void TrainingMultiplyTransposed(ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, ReadOnlySpan<float> bias, Span<float> c, int ldc, int m, int depth, int j0, int j1)
    {
        if (Vector512.IsHardwareAccelerated && Avx512F.IsSupported)
        {
            MultiplyTransposedInPairedLanes(ref MemoryMarshal.GetReference(a), lda, ref MemoryMarshal.GetReference(b), ldb, ref MemoryMarshal.GetReference(bias), ref MemoryMarshal.GetReference(c), ldc, m, depth, j0, j1);
        }
        else
        {
            MultiplyTransposed(a, lda, b, ldb, bias, c, ldc, m, depth, j0, j1);
        }
    }

    /// <summary>
    /// <see cref="MultiplyTransposed{T}"/> at 256 bits, bit for bit, with its multiply-adds at 512:
    /// each 512-bit accumulator holds the eight-lane partial sums of two rows (row i in its lower
    /// half, row i + 1 in its upper) for one column, so every element sees the same multiply-adds,
    /// lane sum and tail as a 256-bit lane would, while one instruction does both rows' work (a
    /// 256-bit product leaves AVX-512's second multiply-add port idle). Tiles of eight rows × four
    /// columns; the remaining rows and columns take the 256-bit kernel. The six forward products
    /// of a 32-row step of 832 → [256, 128, 64] on one core: 1.32–1.52× faster than at 256 bits
    /// (1.52–1.61× for a 512-row evaluation pass), in one process, alternated. (Equality with an
    /// AVX2 machine also rests on the JIT summing a <see cref="Vector256{T}"/>'s lanes in the same
    /// order on both, which tests on one machine cannot check.)
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void MultiplyTransposedInPairedLanes(ref float ar, int lda, ref float br, int ldb, ref float biasr, ref float cr, int ldc, int m, int depth, int j0, int j1)
    {
        const int tileRows = 8, tileColumns = 4;
        int block = Math.Max(1, L1RowBytes / (Math.Max(depth, 1) * sizeof(float)) / tileRows) * tileRows;
        int jEnd = j0 + ((j1 - j0) / tileColumns * tileColumns);
        for (int i0 = 0; i0 < m; i0 += block)
        {
            int i1 = Math.Min(m, i0 + block);
            int iEnd = i0 + ((i1 - i0) / tileRows * tileRows);
            for (int j = j0; j < jEnd; j += tileColumns)
            {
                for (int i = i0; i < iEnd; i += tileRows)
                {
                    Tile8x4InPairedLanes(ref Unsafe.Add(ref ar, i * lda), lda, ref Unsafe.Add(ref br, j * ldb), ldb, depth, ref Unsafe.Add(ref biasr, j), ref Unsafe.Add(ref cr, (i * ldc) + j), ldc);
                }
            }

            if (iEnd < i1 && j0 < jEnd)
            {
                MultiplyTransposed<Lanes256>(ref Unsafe.Add(ref ar, iEnd * lda), lda, ref br, ldb, ref biasr, ref Unsafe.Add(ref cr, iEnd * ldc), ldc, i1 - iEnd, depth, j0, jEnd);
            }
        }

        if (jEnd < j1)
        {
            MultiplyTransposed<Lanes256>(ref ar, lda, ref br, ldb, ref biasr, ref cr, ldc, m, depth, jEnd, j1);
        }
    }

    /// <summary>Rows a0 … a0 + 7·lda of C, columns j … j + 3, in sixteen 512-bit accumulators (two rows each; see <see cref="MultiplyTransposedInPairedLanes"/>).</summary>
    /// <remarks>
    /// Each column's eight weights reach both halves by one broadcast load (<c>Vector512.Create</c>
    /// of a loaded 256-bit value compiles to two inserts, which left the shuffle port busier than
    /// the multiply-adds); each pair of rows costs one insert. Eight rows per tile halve the weight
    /// bytes each multiply-add reads from L2 against four rows × eight columns.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Tile8x4InPairedLanes(ref float a0, int lda, ref float b0, int ldb, int depth, ref float bias, ref float row, int ldc)
    {
        nint sa = lda, sb = ldb;
        Vector512<float> q00 = default, q01 = default, q02 = default, q03 = default, q10 = default, q11 = default, q12 = default, q13 = default;
        Vector512<float> q20 = default, q21 = default, q22 = default, q23 = default, q30 = default, q31 = default, q32 = default, q33 = default;
        int p = 0;
        fixed (float* aFirst = &a0, bFirst = &b0)
        {
            float* a = aFirst, b = bFirst;
            for (; p <= depth - 8; p += 8)
            {
                Vector512<float> w0 = Avx512F.BroadcastVector256ToVector512((double*)b).AsSingle();
                Vector512<float> w1 = Avx512F.BroadcastVector256ToVector512((double*)(b + sb)).AsSingle();
                Vector512<float> w2 = Avx512F.BroadcastVector256ToVector512((double*)(b + (2 * sb))).AsSingle();
                Vector512<float> w3 = Avx512F.BroadcastVector256ToVector512((double*)(b + (3 * sb))).AsSingle();
                Vector512<float> x = Vector256.Load(a).ToVector512Unsafe().WithUpper(Vector256.Load(a + sa));
                q00 = Vector512.FusedMultiplyAdd(x, w0, q00);
                q01 = Vector512.FusedMultiplyAdd(x, w1, q01);
                q02 = Vector512.FusedMultiplyAdd(x, w2, q02);
                q03 = Vector512.FusedMultiplyAdd(x, w3, q03);
                x = Vector256.Load(a + (2 * sa)).ToVector512Unsafe().WithUpper(Vector256.Load(a + (3 * sa)));
                q10 = Vector512.FusedMultiplyAdd(x, w0, q10);
                q11 = Vector512.FusedMultiplyAdd(x, w1, q11);
                q12 = Vector512.FusedMultiplyAdd(x, w2, q12);
                q13 = Vector512.FusedMultiplyAdd(x, w3, q13);
                x = Vector256.Load(a + (4 * sa)).ToVector512Unsafe().WithUpper(Vector256.Load(a + (5 * sa)));
                q20 = Vector512.FusedMultiplyAdd(x, w0, q20);
                q21 = Vector512.FusedMultiplyAdd(x, w1, q21);
                q22 = Vector512.FusedMultiplyAdd(x, w2, q22);
                q23 = Vector512.FusedMultiplyAdd(x, w3, q23);
                x = Vector256.Load(a + (6 * sa)).ToVector512Unsafe().WithUpper(Vector256.Load(a + (7 * sa)));
                q30 = Vector512.FusedMultiplyAdd(x, w0, q30);
                q31 = Vector512.FusedMultiplyAdd(x, w1, q31);
                q32 = Vector512.FusedMultiplyAdd(x, w2, q32);
                q33 = Vector512.FusedMultiplyAdd(x, w3, q33);
                a += 8;
                b += 8;
            }
        }

        PairedRowsTail(ref a0, sa, ref b0, ldb, p, depth, q00, q01, q02, q03, ref bias, ref row, ldc);
        PairedRowsTail(ref Unsafe.Add(ref a0, 2 * sa), sa, ref b0, ldb, p, depth, q10, q11, q12, q13, ref bias, ref Unsafe.Add(ref row, 2 * ldc), ldc);
        PairedRowsTail(ref Unsafe.Add(ref a0, 4 * sa), sa, ref b0, ldb, p, depth, q20, q21, q22, q23, ref bias, ref Unsafe.Add(ref row, 4 * ldc), ldc);
        PairedRowsTail(ref Unsafe.Add(ref a0, 6 * sa), sa, ref b0, ldb, p, depth, q30, q31, q32, q33, ref bias, ref Unsafe.Add(ref row, 6 * ldc), ldc);
    }

    /// <summary>Two rows' four columns from paired accumulators: each half finished by <see cref="RowTail{T}"/> as a 256-bit tile's row is.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PairedRowsTail(ref float a, nint lda, ref float b0, int ldb, int p, int depth, Vector512<float> c0, Vector512<float> c1, Vector512<float> c2, Vector512<float> c3, ref float bias, ref float row, int ldc)
    {
        RowTail(ref a, ref b0, ldb, p, depth, new Lanes256(c0.GetLower()), new Lanes256(c1.GetLower()), new Lanes256(c2.GetLower()), new Lanes256(c3.GetLower()), ref bias, ref row);
        RowTail(ref Unsafe.Add(ref a, lda), ref b0, ldb, p, depth, new Lanes256(c0.GetUpper()), new Lanes256(c1.GetUpper()), new Lanes256(c2.GetUpper()), new Lanes256(c3.GetUpper()), ref bias, ref Unsafe.Add(ref row, ldc));
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
        if (Vector512.IsHardwareAccelerated)
        {
            Multiply<Lanes512>(ref ar, aRowStride, aDepthStride, ref br, ldb, ref cr, ldc, m, depth, j0, j1);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Multiply<Lanes256>(ref ar, aRowStride, aDepthStride, ref br, ldb, ref cr, ldc, m, depth, j0, j1);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            Multiply<Lanes128>(ref ar, aRowStride, aDepthStride, ref br, ldb, ref cr, ldc, m, depth, j0, j1);
        }
        else
        {
            Multiply<LanesScalar>(ref ar, aRowStride, aDepthStride, ref br, ldb, ref cr, ldc, m, depth, j0, j1);
        }
    }

    /// <summary><see cref="MultiplyTransposed"/> at the width of <typeparamref name="T"/> (tests compare the paths in one process).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void MultiplyTransposed<T>(ref float ar, int lda, ref float br, int ldb, ref float biasr, ref float cr, int ldc, int m, int depth, int j0, int j1)
        where T : struct, ILanes<T>
    {
        // Blocks of A rows outermost, sized to stay in L1 (rows of 832 floats, 32 of them, do not:
        // re-read from L2 for every quad of B they ran at a third of the multiply-add rate); quads of
        // B rows inside, read once per block; tiles of four rows where there are 32 vector registers
        // (sixteen accumulators; on AVX-512 also the rows training's paired tiles leave), else three
        // (twelve of sixteen). Smaller tiles and plain dot
        // products take the remaining rows: the same order per element.
        bool fourRows = SimdPaths.ThirtyTwoRegisters;
        int tileRows = fourRows ? 4 : 3;
        int block = Math.Max(1, L1RowBytes / (Math.Max(depth, 1) * sizeof(float)) / tileRows) * tileRows;
        for (int i0 = 0; i0 < m; i0 += block)
        {
            int i1 = Math.Min(m, i0 + block);
            for (int j = j0; j <= j1 - 4; j += 4)
            {
                ref float b0 = ref Unsafe.Add(ref br, j * ldb);
                ref float biasj = ref Unsafe.Add(ref biasr, j);
                int i = i0;
                if (fourRows)
                {
                    for (; i <= i1 - 4; i += 4)
                    {
                        Tile4x4<T>(ref Unsafe.Add(ref ar, i * lda), lda, ref b0, ldb, depth, ref biasj, ref Unsafe.Add(ref cr, (i * ldc) + j), ldc);
                    }
                }

                for (; i <= i1 - 3; i += 3)
                {
                    Tile3x4<T>(ref Unsafe.Add(ref ar, i * lda), lda, ref b0, ldb, depth, ref biasj, ref Unsafe.Add(ref cr, (i * ldc) + j), ldc);
                }

                for (; i < i1; i++)
                {
                    ref float ai = ref Unsafe.Add(ref ar, i * lda);
                    (float s0, float s1, float s2, float s3) = Dot4<T>(ref ai, ref b0, ldb, depth);
                    Store4(ref Unsafe.Add(ref cr, (i * ldc) + j), s0, s1, s2, s3, ref biasj);
                }
            }
        }

        int jr = j0 + ((j1 - j0) / 4 * 4);
        for (int j = jr; j < j1; j++)
        {
            for (int i = 0; i < m; i++)
            {
                Unsafe.Add(ref cr, (i * ldc) + j) = Dot<T>(ref Unsafe.Add(ref ar, i * lda), ref Unsafe.Add(ref br, j * ldb), depth) + Unsafe.Add(ref biasr, j);
            }
        }
    }

    /// <summary><see cref="Multiply"/> at the width of <typeparamref name="T"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Multiply<T>(ref float ar, int aRowStride, int aDepthStride, ref float br, int ldb, ref float cr, int ldc, int m, int depth, int j0, int j1)
        where T : struct, ILanes<T>
    {
        // Column strips outermost (four vectors wide where there are 32 registers, then two), and
        // depth in blocks: one block of a strip of B stays in L1 for every row block. Later depth
        // blocks continue each element's sum from the stored partial, so neither the blocking nor
        // the strip width changes any result.
        int j = j0;
        if (SimdPaths.ThirtyTwoRegisters)
        {
            for (; j <= j1 - (4 * T.Count); j += 4 * T.Count)
            {
                StripColumns<T>(4, ref ar, aRowStride, aDepthStride, ref Unsafe.Add(ref br, j), ldb, ref Unsafe.Add(ref cr, j), ldc, m, depth);
            }
        }

        for (; j <= j1 - (2 * T.Count); j += 2 * T.Count)
        {
            StripColumns<T>(2, ref ar, aRowStride, aDepthStride, ref Unsafe.Add(ref br, j), ldb, ref Unsafe.Add(ref cr, j), ldc, m, depth);
        }

        // Remaining columns (fewer than a strip): one at a time, in the same order and rounding per element.
        for (; j < j1; j++)
        {
            for (int i = 0; i < m; i++)
            {
                ref float ai = ref Unsafe.Add(ref ar, i * aRowStride);
                float sum = 0;
                for (int p = 0; p < depth; p++)
                {
                    sum = T.MultiplyAdd(Unsafe.Add(ref ai, p * aDepthStride), Unsafe.Add(ref br, (p * ldb) + j), sum);
                }

                Unsafe.Add(ref cr, (i * ldc) + j) = sum;
            }
        }
    }

    /// <summary>Rows a0 … a0 + 3·lda of C, columns j … j + 3: sixteen accumulators (needs 32 vector registers).</summary>
    /// <remarks>
    /// The tiles are compiled on their own, optimised from the first call, with one address and a
    /// stride per operand: inlined into the column loop they ran short of general registers and
    /// re-read three weight-row addresses from the stack at every step of depth.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile4x4<T>(ref float a0, int lda, ref float b0, int ldb, int depth, ref float bias, ref float row, int ldc)
        where T : struct, ILanes<T>
    {
        nint sa = lda, sb = ldb;
        T c00 = T.Zero, c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00;
        T c20 = c00, c21 = c00, c22 = c00, c23 = c00, c30 = c00, c31 = c00, c32 = c00, c33 = c00;
        ref float a = ref a0;
        ref float b = ref b0;
        int p = 0;
        for (; p <= depth - T.Count; p += T.Count)
        {
            T x0 = T.Load(ref a, 0);
            T x1 = T.Load(ref Unsafe.Add(ref a, sa), 0);
            T x2 = T.Load(ref Unsafe.Add(ref a, 2 * sa), 0);
            T x3 = T.Load(ref Unsafe.Add(ref a, 3 * sa), 0);
            T w = T.Load(ref b, 0);
            c00 = T.MultiplyAdd(x0, w, c00);
            c10 = T.MultiplyAdd(x1, w, c10);
            c20 = T.MultiplyAdd(x2, w, c20);
            c30 = T.MultiplyAdd(x3, w, c30);
            w = T.Load(ref Unsafe.Add(ref b, sb), 0);
            c01 = T.MultiplyAdd(x0, w, c01);
            c11 = T.MultiplyAdd(x1, w, c11);
            c21 = T.MultiplyAdd(x2, w, c21);
            c31 = T.MultiplyAdd(x3, w, c31);
            w = T.Load(ref Unsafe.Add(ref b, 2 * sb), 0);
            c02 = T.MultiplyAdd(x0, w, c02);
            c12 = T.MultiplyAdd(x1, w, c12);
            c22 = T.MultiplyAdd(x2, w, c22);
            c32 = T.MultiplyAdd(x3, w, c32);
            w = T.Load(ref Unsafe.Add(ref b, 3 * sb), 0);
            c03 = T.MultiplyAdd(x0, w, c03);
            c13 = T.MultiplyAdd(x1, w, c13);
            c23 = T.MultiplyAdd(x2, w, c23);
            c33 = T.MultiplyAdd(x3, w, c33);
            a = ref Unsafe.Add(ref a, T.Count);
            b = ref Unsafe.Add(ref b, T.Count);
        }

        RowTail<T>(ref a0, ref b0, ldb, p, depth, c00, c01, c02, c03, ref bias, ref row);
        RowTail<T>(ref Unsafe.Add(ref a0, sa), ref b0, ldb, p, depth, c10, c11, c12, c13, ref bias, ref Unsafe.Add(ref row, ldc));
        RowTail<T>(ref Unsafe.Add(ref a0, 2 * sa), ref b0, ldb, p, depth, c20, c21, c22, c23, ref bias, ref Unsafe.Add(ref row, 2 * ldc));
        RowTail<T>(ref Unsafe.Add(ref a0, 3 * sa), ref b0, ldb, p, depth, c30, c31, c32, c33, ref bias, ref Unsafe.Add(ref row, 3 * ldc));
    }

    /// <summary>Rows a0, a0 + lda, a0 + 2·lda of C, columns j … j + 3: twelve accumulators, each load of A feeding four multiply-adds and each load of B three.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile3x4<T>(ref float a0, int lda, ref float b0, int ldb, int depth, ref float bias, ref float row, int ldc)
        where T : struct, ILanes<T>
    {
        nint sa = lda, sb = ldb;
        T c00 = T.Zero, c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00, c20 = c00, c21 = c00, c22 = c00, c23 = c00;
        ref float a = ref a0;
        ref float b = ref b0;
        int p = 0;
        for (; p <= depth - T.Count; p += T.Count)
        {
            T x0 = T.Load(ref a, 0);
            T x1 = T.Load(ref Unsafe.Add(ref a, sa), 0);
            T x2 = T.Load(ref Unsafe.Add(ref a, 2 * sa), 0);
            T w = T.Load(ref b, 0);
            c00 = T.MultiplyAdd(x0, w, c00);
            c10 = T.MultiplyAdd(x1, w, c10);
            c20 = T.MultiplyAdd(x2, w, c20);
            w = T.Load(ref Unsafe.Add(ref b, sb), 0);
            c01 = T.MultiplyAdd(x0, w, c01);
            c11 = T.MultiplyAdd(x1, w, c11);
            c21 = T.MultiplyAdd(x2, w, c21);
            w = T.Load(ref Unsafe.Add(ref b, 2 * sb), 0);
            c02 = T.MultiplyAdd(x0, w, c02);
            c12 = T.MultiplyAdd(x1, w, c12);
            c22 = T.MultiplyAdd(x2, w, c22);
            w = T.Load(ref Unsafe.Add(ref b, 3 * sb), 0);
            c03 = T.MultiplyAdd(x0, w, c03);
            c13 = T.MultiplyAdd(x1, w, c13);
            c23 = T.MultiplyAdd(x2, w, c23);
            a = ref Unsafe.Add(ref a, T.Count);
            b = ref Unsafe.Add(ref b, T.Count);
        }

        RowTail<T>(ref a0, ref b0, ldb, p, depth, c00, c01, c02, c03, ref bias, ref row);
        RowTail<T>(ref Unsafe.Add(ref a0, sa), ref b0, ldb, p, depth, c10, c11, c12, c13, ref bias, ref Unsafe.Add(ref row, ldc));
        RowTail<T>(ref Unsafe.Add(ref a0, 2 * sa), ref b0, ldb, p, depth, c20, c21, c22, c23, ref bias, ref Unsafe.Add(ref row, 2 * ldc));
    }

    /// <summary>One row of a tile: lane sums, the scalar tail from <paramref name="p"/>, bias, store (the order of <see cref="Dot{T}"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RowTail<T>(ref float a, ref float b0, int ldb, int p, int depth, T c0, T c1, T c2, T c3, ref float bias, ref float row)
        where T : struct, ILanes<T>
    {
        ref float b1 = ref Unsafe.Add(ref b0, ldb);
        ref float b2 = ref Unsafe.Add(ref b1, ldb);
        ref float b3 = ref Unsafe.Add(ref b2, ldb);
        float s0 = T.Sum(c0), s1 = T.Sum(c1), s2 = T.Sum(c2), s3 = T.Sum(c3);
        for (; p < depth; p++)
        {
            float x = Unsafe.Add(ref a, p);
            s0 = T.MultiplyAdd(x, Unsafe.Add(ref b0, p), s0);
            s1 = T.MultiplyAdd(x, Unsafe.Add(ref b1, p), s1);
            s2 = T.MultiplyAdd(x, Unsafe.Add(ref b2, p), s2);
            s3 = T.MultiplyAdd(x, Unsafe.Add(ref b3, p), s3);
        }

        Store4(ref row, s0, s1, s2, s3, ref bias);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Store4(ref float row, float s0, float s1, float s2, float s3, ref float bias)
    {
        row = s0 + bias;
        Unsafe.Add(ref row, 1) = s1 + Unsafe.Add(ref bias, 1);
        Unsafe.Add(ref row, 2) = s2 + Unsafe.Add(ref bias, 2);
        Unsafe.Add(ref row, 3) = s3 + Unsafe.Add(ref bias, 3);
    }

    /// <summary>One strip of C (<paramref name="vectors"/> vectors wide, rows 0..m) over the whole depth, block after block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StripColumns<T>(int vectors, ref float ar, int aRowStride, int aDepthStride, ref float bStrip, int ldb, ref float cStrip, int ldc, int m, int depth)
        where T : struct, ILanes<T>
    {
        for (int p0 = 0; p0 < depth; p0 += DepthBlock)
        {
            Strip<T>(vectors, ref ar, aRowStride, aDepthStride, ref bStrip, ldb, ref cStrip, ldc, m, p0, Math.Min(depth, p0 + DepthBlock));
        }

        if (depth == 0)
        {
            for (int i = 0; i < m; i++)
            {
                for (int v = 0; v < vectors; v++)
                {
                    T.Store(T.Zero, ref Unsafe.Add(ref cStrip, i * ldc), (nuint)(v * T.Count));
                }
            }
        }
    }

    /// <summary>Columns of one strip of C (rows 0..m) over depth [p0, p1); the first block starts from zero, later ones from C.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Strip<T>(int vectors, ref float ar, int aRowStride, int aDepthStride, ref float bStrip, int ldb, ref float cStrip, int ldc, int m, int p0, int p1)
        where T : struct, ILanes<T>
    {
        bool first = p0 == 0;
        int i = 0;
        for (; i <= m - 6; i += 6)
        {
            ref float ai = ref Unsafe.Add(ref ar, (i * aRowStride) + (p0 * aDepthStride));
            ref float bp = ref Unsafe.Add(ref bStrip, (nint)p0 * ldb);
            ref float ci = ref Unsafe.Add(ref cStrip, i * ldc);
            TileStart start = first ? TileStart.Zero : TileStart.Accumulate;
            if (vectors == 4)
            {
                OuterProductTiles.SixByFour<T>(ref ai, aRowStride, aDepthStride, ref bp, ldb, p1 - p0, ref ci, ldc, start, ref ci);
            }
            else
            {
                OuterProductTiles.SixByTwo<T>(ref ai, aRowStride, aDepthStride, ref bp, ldb, p1 - p0, ref ci, ldc, start, ref ci);
            }
        }

        for (; i < m; i++)
        {
            ref float ai = ref Unsafe.Add(ref ar, i * aRowStride);
            ref float row = ref Unsafe.Add(ref cStrip, i * ldc);
            for (int v = 0; v < vectors; v += 2)
            {
                nuint n0 = (nuint)(v * T.Count), n1 = n0 + (nuint)T.Count;
                T c0 = first ? T.Zero : T.Load(ref row, n0);
                T c1 = first ? T.Zero : T.Load(ref row, n1);
                for (int p = p0; p < p1; p++)
                {
                    ref float bRow = ref Unsafe.Add(ref bStrip, p * ldb);
                    T x = T.Broadcast(Unsafe.Add(ref ai, p * aDepthStride));
                    c0 = T.MultiplyAdd(x, T.Load(ref bRow, n0), c0);
                    c1 = T.MultiplyAdd(x, T.Load(ref bRow, n1), c1);
                }

                T.Store(c0, ref row, n0);
                T.Store(c1, ref row, n1);
            }
        }
    }

    /// <summary>
    /// Σ x[p]·y[p] for four rows of y (<paramref name="y0"/>, + ldy, + 2·ldy, + 3·ldy) at once: four
    /// independent accumulators hide the multiply-add latency, each result keeps <see cref="Dot{T}"/>'s order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static (float, float, float, float) Dot4<T>(ref float x, ref float y0, int ldy, int length)
        where T : struct, ILanes<T>
    {
        ref float y1 = ref Unsafe.Add(ref y0, ldy);
        ref float y2 = ref Unsafe.Add(ref y1, ldy);
        ref float y3 = ref Unsafe.Add(ref y2, ldy);
        T a0 = T.Zero, a1 = a0, a2 = a0, a3 = a0;
        int k = 0;
        for (; k <= length - T.Count; k += T.Count)
        {
            T xv = T.Load(ref x, (nuint)k);
            a0 = T.MultiplyAdd(xv, T.Load(ref y0, (nuint)k), a0);
            a1 = T.MultiplyAdd(xv, T.Load(ref y1, (nuint)k), a1);
            a2 = T.MultiplyAdd(xv, T.Load(ref y2, (nuint)k), a2);
            a3 = T.MultiplyAdd(xv, T.Load(ref y3, (nuint)k), a3);
        }

        float s0 = T.Sum(a0), s1 = T.Sum(a1), s2 = T.Sum(a2), s3 = T.Sum(a3);
        for (; k < length; k++)
        {
            float xk = Unsafe.Add(ref x, k);
            s0 = T.MultiplyAdd(xk, Unsafe.Add(ref y0, k), s0);
            s1 = T.MultiplyAdd(xk, Unsafe.Add(ref y1, k), s1);
            s2 = T.MultiplyAdd(xk, Unsafe.Add(ref y2, k), s2);
            s3 = T.MultiplyAdd(xk, Unsafe.Add(ref y3, k), s3);
        }

        return (s0, s1, s2, s3);
    }

    /// <summary>
    /// <see cref="Dot4{T}"/> on two scalar lanes (the scalar path's compact weights, row-major) with
    /// the four rows of y stored as bfloat16: each weight widens exactly to the float it stands for,
    /// so the results equal <see cref="Dot4{T}"/> over those floats bit for bit, reading half the bytes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static (float, float, float, float) Dot4BFloat16(ref float x, ref ushort y0, int ldy, int length)
    {
        ref ushort y1 = ref Unsafe.Add(ref y0, ldy);
        ref ushort y2 = ref Unsafe.Add(ref y1, ldy);
        ref ushort y3 = ref Unsafe.Add(ref y2, ldy);
        LanesScalar a0 = LanesScalar.Zero, a1 = a0, a2 = a0, a3 = a0;
        int k = 0;
        for (; k <= length - LanesScalar.Count; k += LanesScalar.Count)
        {
            LanesScalar xv = LanesScalar.Load(ref x, (nuint)k);
            a0 = LanesScalar.MultiplyAdd(xv, LanesScalar.LoadBFloat16(ref y0, (nuint)k), a0);
            a1 = LanesScalar.MultiplyAdd(xv, LanesScalar.LoadBFloat16(ref y1, (nuint)k), a1);
            a2 = LanesScalar.MultiplyAdd(xv, LanesScalar.LoadBFloat16(ref y2, (nuint)k), a2);
            a3 = LanesScalar.MultiplyAdd(xv, LanesScalar.LoadBFloat16(ref y3, (nuint)k), a3);
        }

        float s0 = LanesScalar.Sum(a0), s1 = LanesScalar.Sum(a1), s2 = LanesScalar.Sum(a2), s3 = LanesScalar.Sum(a3);
        for (; k < length; k++)
        {
            float xk = Unsafe.Add(ref x, k);
            s0 = LanesScalar.MultiplyAdd(xk, BFloat16.ToSingle(Unsafe.Add(ref y0, k)), s0);
            s1 = LanesScalar.MultiplyAdd(xk, BFloat16.ToSingle(Unsafe.Add(ref y1, k)), s1);
            s2 = LanesScalar.MultiplyAdd(xk, BFloat16.ToSingle(Unsafe.Add(ref y2, k)), s2);
            s3 = LanesScalar.MultiplyAdd(xk, BFloat16.ToSingle(Unsafe.Add(ref y3, k)), s3);
        }

        return (s0, s1, s2, s3);
    }

    /// <summary>Σ x[p]·y[p]: lane-wise multiply-add accumulation, lane sum, then multiply-adds over the tail (every kernel's per-element order).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float Dot<T>(ref float x, ref float y, int length)
        where T : struct, ILanes<T>
    {
        T acc = T.Zero;
        int p = 0;
        for (; p <= length - T.Count; p += T.Count)
        {
            acc = T.MultiplyAdd(T.Load(ref x, (nuint)p), T.Load(ref y, (nuint)p), acc);
        }

        float sum = T.Sum(acc);
        for (; p < length; p++)
        {
            sum = T.MultiplyAdd(Unsafe.Add(ref x, p), Unsafe.Add(ref y, p), sum);
        }

        return sum;
    }

    /// <summary>Σ x[p]·y[p] on the active path (the order of every kernel's elements).</summary>
    internal static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        Debug.Assert(x.Length == y.Length);
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        return Vector512.IsHardwareAccelerated ? Dot<Lanes512>(ref xr, ref yr, x.Length)
            : Vector256.IsHardwareAccelerated ? Dot<Lanes256>(ref xr, ref yr, x.Length)
            : Vector128.IsHardwareAccelerated ? Dot<Lanes128>(ref xr, ref yr, x.Length)
            : Dot<LanesScalar>(ref xr, ref yr, x.Length);
    }
}
