using System.Runtime.CompilerServices;

namespace AgeGroupAnomaly.Compute;

/// <summary>Where the accumulators of an <see cref="OuterProductTiles"/> tile start.</summary>
internal enum TileStart
{
    /// <summary>At zero (the first depth block of a product without bias).</summary>
    Zero,

    /// <summary>At the bias, the same vectors for every row (the first depth block of a layer).</summary>
    Bias,

    /// <summary>At C's stored partial sums (a later depth block).</summary>
    Accumulate,
}

/// <summary>
/// The register tiles both outer-product kernels share (scoring's batch products over packed weight
/// panels, <see cref="InferenceProducts"/>, and training's backward products, <see cref="MatrixKernels"/>):
/// six rows of A, each element broadcast once per step of depth, times four or two vectors of B's row at
/// that depth. Each element of C is one multiply-add chain in depth order, whatever the tile.
/// </summary>
/// <remarks>
/// Compiled on their own, optimised from the first call, with one address and stride per operand:
/// the AVX-512 tile is too large to inline (left to the JIT's tiers it first ran unoptimised), and
/// inlined into a caller's loops the tiles ran short of general registers and re-read addresses from
/// the stack at every step of depth.
/// </remarks>
internal static class OuterProductTiles
{
    /// <summary>
    /// C[i, 0 … 4·Count) for rows i = 0 … 5, over <paramref name="steps"/> steps of depth: row i's
    /// element at step p is A(i, p) = a0[i · rowStride + p · depthStride], B's row at step p starts at
    /// b[p · ldb], C's row i at c0[i · ldc]. 24 accumulators: needs 32 vector registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SixByFour<T>(ref float a0, int rowStride, int depthStride, ref float b, int ldb, int steps, ref float c0, int ldc, TileStart start, ref float bias)
        where T : struct, ILanes<T>
    {
        nuint n = (nuint)T.Count, n2 = 2 * n, n3 = 3 * n;
        T c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33, c40, c41, c42, c43, c50, c51, c52, c53;
        if (start == TileStart.Accumulate)
        {
            ref float r = ref c0;
            c00 = T.Load(ref r, 0); c01 = T.Load(ref r, n); c02 = T.Load(ref r, n2); c03 = T.Load(ref r, n3); r = ref Unsafe.Add(ref r, ldc);
            c10 = T.Load(ref r, 0); c11 = T.Load(ref r, n); c12 = T.Load(ref r, n2); c13 = T.Load(ref r, n3); r = ref Unsafe.Add(ref r, ldc);
            c20 = T.Load(ref r, 0); c21 = T.Load(ref r, n); c22 = T.Load(ref r, n2); c23 = T.Load(ref r, n3); r = ref Unsafe.Add(ref r, ldc);
            c30 = T.Load(ref r, 0); c31 = T.Load(ref r, n); c32 = T.Load(ref r, n2); c33 = T.Load(ref r, n3); r = ref Unsafe.Add(ref r, ldc);
            c40 = T.Load(ref r, 0); c41 = T.Load(ref r, n); c42 = T.Load(ref r, n2); c43 = T.Load(ref r, n3); r = ref Unsafe.Add(ref r, ldc);
            c50 = T.Load(ref r, 0); c51 = T.Load(ref r, n); c52 = T.Load(ref r, n2); c53 = T.Load(ref r, n3);
        }
        else
        {
            // From the bias (the same vectors for every row) or from zero.
            c00 = c10 = c20 = c30 = c40 = c50 = start == TileStart.Bias ? T.Load(ref bias, 0) : T.Zero;
            c01 = c11 = c21 = c31 = c41 = c51 = start == TileStart.Bias ? T.Load(ref bias, n) : T.Zero;
            c02 = c12 = c22 = c32 = c42 = c52 = start == TileStart.Bias ? T.Load(ref bias, n2) : T.Zero;
            c03 = c13 = c23 = c33 = c43 = c53 = start == TileStart.Bias ? T.Load(ref bias, n3) : T.Zero;
        }

        ref float w = ref b;
        ref float x0 = ref a0;
        nint s = rowStride, sw = ldb, sx = depthStride;
        for (int p = 0; p < steps; p++)
        {
            T w0 = T.Load(ref w, 0);
            T w1 = T.Load(ref w, n);
            T w2 = T.Load(ref w, n2);
            T w3 = T.Load(ref w, n3);
            T x = T.Broadcast(x0);
            c00 = T.MultiplyAdd(x, w0, c00);
            c01 = T.MultiplyAdd(x, w1, c01);
            c02 = T.MultiplyAdd(x, w2, c02);
            c03 = T.MultiplyAdd(x, w3, c03);
            x = T.Broadcast(Unsafe.Add(ref x0, s));
            c10 = T.MultiplyAdd(x, w0, c10);
            c11 = T.MultiplyAdd(x, w1, c11);
            c12 = T.MultiplyAdd(x, w2, c12);
            c13 = T.MultiplyAdd(x, w3, c13);
            x = T.Broadcast(Unsafe.Add(ref x0, 2 * s));
            c20 = T.MultiplyAdd(x, w0, c20);
            c21 = T.MultiplyAdd(x, w1, c21);
            c22 = T.MultiplyAdd(x, w2, c22);
            c23 = T.MultiplyAdd(x, w3, c23);
            x = T.Broadcast(Unsafe.Add(ref x0, 3 * s));
            c30 = T.MultiplyAdd(x, w0, c30);
            c31 = T.MultiplyAdd(x, w1, c31);
            c32 = T.MultiplyAdd(x, w2, c32);
            c33 = T.MultiplyAdd(x, w3, c33);
            x = T.Broadcast(Unsafe.Add(ref x0, 4 * s));
            c40 = T.MultiplyAdd(x, w0, c40);
            c41 = T.MultiplyAdd(x, w1, c41);
            c42 = T.MultiplyAdd(x, w2, c42);
            c43 = T.MultiplyAdd(x, w3, c43);
            x = T.Broadcast(Unsafe.Add(ref x0, 5 * s));
            c50 = T.MultiplyAdd(x, w0, c50);
            c51 = T.MultiplyAdd(x, w1, c51);
            c52 = T.MultiplyAdd(x, w2, c52);
            c53 = T.MultiplyAdd(x, w3, c53);
            w = ref Unsafe.Add(ref w, sw);
            x0 = ref Unsafe.Add(ref x0, sx);
        }

        ref float o = ref c0;
        T.Store(c00, ref o, 0); T.Store(c01, ref o, n); T.Store(c02, ref o, n2); T.Store(c03, ref o, n3); o = ref Unsafe.Add(ref o, ldc);
        T.Store(c10, ref o, 0); T.Store(c11, ref o, n); T.Store(c12, ref o, n2); T.Store(c13, ref o, n3); o = ref Unsafe.Add(ref o, ldc);
        T.Store(c20, ref o, 0); T.Store(c21, ref o, n); T.Store(c22, ref o, n2); T.Store(c23, ref o, n3); o = ref Unsafe.Add(ref o, ldc);
        T.Store(c30, ref o, 0); T.Store(c31, ref o, n); T.Store(c32, ref o, n2); T.Store(c33, ref o, n3); o = ref Unsafe.Add(ref o, ldc);
        T.Store(c40, ref o, 0); T.Store(c41, ref o, n); T.Store(c42, ref o, n2); T.Store(c43, ref o, n3); o = ref Unsafe.Add(ref o, ldc);
        T.Store(c50, ref o, 0); T.Store(c51, ref o, n); T.Store(c52, ref o, n2); T.Store(c53, ref o, n3);
    }

    /// <summary><see cref="SixByFour{T}"/> two vectors wide: twelve accumulators, for sixteen registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SixByTwo<T>(ref float a0, int rowStride, int depthStride, ref float b, int ldb, int steps, ref float c0, int ldc, TileStart start, ref float bias)
        where T : struct, ILanes<T>
    {
        nuint n = (nuint)T.Count;
        T c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
        if (start == TileStart.Accumulate)
        {
            ref float r = ref c0;
            c00 = T.Load(ref r, 0); c01 = T.Load(ref r, n); r = ref Unsafe.Add(ref r, ldc);
            c10 = T.Load(ref r, 0); c11 = T.Load(ref r, n); r = ref Unsafe.Add(ref r, ldc);
            c20 = T.Load(ref r, 0); c21 = T.Load(ref r, n); r = ref Unsafe.Add(ref r, ldc);
            c30 = T.Load(ref r, 0); c31 = T.Load(ref r, n); r = ref Unsafe.Add(ref r, ldc);
            c40 = T.Load(ref r, 0); c41 = T.Load(ref r, n); r = ref Unsafe.Add(ref r, ldc);
            c50 = T.Load(ref r, 0); c51 = T.Load(ref r, n);
        }
        else
        {
            // From the bias (the same vectors for every row) or from zero.
            c00 = c10 = c20 = c30 = c40 = c50 = start == TileStart.Bias ? T.Load(ref bias, 0) : T.Zero;
            c01 = c11 = c21 = c31 = c41 = c51 = start == TileStart.Bias ? T.Load(ref bias, n) : T.Zero;
        }

        ref float w = ref b;
        ref float x0 = ref a0;
        nint s = rowStride, sw = ldb, sx = depthStride;
        for (int p = 0; p < steps; p++)
        {
            T w0 = T.Load(ref w, 0);
            T w1 = T.Load(ref w, n);
            T x = T.Broadcast(x0);
            c00 = T.MultiplyAdd(x, w0, c00);
            c01 = T.MultiplyAdd(x, w1, c01);
            x = T.Broadcast(Unsafe.Add(ref x0, s));
            c10 = T.MultiplyAdd(x, w0, c10);
            c11 = T.MultiplyAdd(x, w1, c11);
            x = T.Broadcast(Unsafe.Add(ref x0, 2 * s));
            c20 = T.MultiplyAdd(x, w0, c20);
            c21 = T.MultiplyAdd(x, w1, c21);
            x = T.Broadcast(Unsafe.Add(ref x0, 3 * s));
            c30 = T.MultiplyAdd(x, w0, c30);
            c31 = T.MultiplyAdd(x, w1, c31);
            x = T.Broadcast(Unsafe.Add(ref x0, 4 * s));
            c40 = T.MultiplyAdd(x, w0, c40);
            c41 = T.MultiplyAdd(x, w1, c41);
            x = T.Broadcast(Unsafe.Add(ref x0, 5 * s));
            c50 = T.MultiplyAdd(x, w0, c50);
            c51 = T.MultiplyAdd(x, w1, c51);
            w = ref Unsafe.Add(ref w, sw);
            x0 = ref Unsafe.Add(ref x0, sx);
        }

        ref float o = ref c0;
        T.Store(c00, ref o, 0); T.Store(c01, ref o, n); o = ref Unsafe.Add(ref o, ldc);
        T.Store(c10, ref o, 0); T.Store(c11, ref o, n); o = ref Unsafe.Add(ref o, ldc);
        T.Store(c20, ref o, 0); T.Store(c21, ref o, n); o = ref Unsafe.Add(ref o, ldc);
        T.Store(c30, ref o, 0); T.Store(c31, ref o, n); o = ref Unsafe.Add(ref o, ldc);
        T.Store(c40, ref o, 0); T.Store(c41, ref o, n); o = ref Unsafe.Add(ref o, ldc);
        T.Store(c50, ref o, 0); T.Store(c51, ref o, n);
    }
}
