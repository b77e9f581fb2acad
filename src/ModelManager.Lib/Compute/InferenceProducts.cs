using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace AgeGroupAnomaly.Compute;

/// <summary>
/// The dense-layer products of <see cref="InferenceKernel"/>, over weights packed in column panels
/// (<see cref="Pack{T}"/>: each panel of a path's tile width holds its columns' weights input after
/// input, contiguous). Every output is one chain y[j] = bias[j], then y[j] = x[p] · w[p, j] + y[j]
/// for p = 0, 1, … in input order, rounded as the path's lanes round it (fused on FMA hardware). A
/// vector lane, the scalar tail, any tile of a batch, any column range and either core compute that
/// same chain, so a batch score equals the single score bit for bit however the work is cut.
/// Compact (bfloat16) weights for single scores are packed in panels of input pairs instead
/// (<see cref="PackPairs"/>), each output still one chain in input order.
/// </summary>
/// <remarks>
/// A batch runs as outer products: a tile of rows × column vectors keeps its accumulators in
/// registers, each weight vector loaded once feeds every row of the tile and each input value
/// is broadcast once per column group, and depth is cut in blocks so a block of a weight panel
/// stays in L1 for every tile. Packed panels make that block one contiguous run (32 KB on AVX-512): with the plain
/// transpose ([in × out]) a block of the 832 → 256 layer's panel sat at a 1 KB stride, in a quarter
/// of L1's sets, and was partly re-read from L2 by every tile (one core, 4,080 rows: 119–121
/// against 136–137 GFLOP/s packed; 256 → 832 120–122 against 143). A single embedding streams each
/// weight once, a few panels side by side.
/// </remarks>
internal static class InferenceProducts
{
    /// <summary>Inputs per depth block of a batch product (a block of a panel: 32 KB on AVX-512, 8 KB at 256 bits, within L1).</summary>
    private const int DepthBlock = 128;

    /// <summary>Columns per weight panel at the width of <typeparamref name="T"/>: the batch tile's width (four 512-bit vectors, else two vectors).</summary>
    internal static int PanelWidth<T>()
        where T : struct, ILanes<T> => (T.Count >= 16 ? 4 : 2) * T.Count;

    /// <summary>Columns per weight panel on the active path.</summary>
    public static int ActivePanelWidth => SimdPaths.Active switch
    {
        SimdPath.Vector512 => PanelWidth<Lanes512>(),
        SimdPath.Vector256 => PanelWidth<Lanes256>(),
        SimdPath.Vector128 => PanelWidth<Lanes128>(),
        _ => PanelWidth<LanesScalar>(),
    };

    /// <summary>
    /// A row-major [out × in] matrix (PyTorch's layout) in panels of <paramref name="panelWidth"/>
    /// columns: weight (p, j) at <see cref="PanelOffset"/>(j) + p · panelWidth. The last panel is
    /// padded with zeros to the full width (never read), so every panel has the same stride.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // once per model load: never left to the JIT's tiers
    public static T[] Pack<T>(T[] weight, int outSize, int inSize, int panelWidth)
    {
        int panels = (outSize + panelWidth - 1) / panelWidth;
        var packed = new T[checked(panels * panelWidth * inSize)];
        for (int j = 0; j < outSize; j++)
        {
            nint start = PanelOffset(j, inSize, panelWidth);
            for (int p = 0; p < inSize; p++)
            {
                packed[start + ((nint)p * panelWidth)] = weight[(j * inSize) + p];
            }
        }

        return packed;
    }

    /// <summary>
    /// A row-major [out × in] matrix of bfloat16 in panels of <paramref name="panelWidth"/> columns
    /// whose rows are input pairs: weight (p, j) at <see cref="PairedPanelOffset"/>(j) +
    /// (p / 2) · 2 · panelWidth + p % 2, so each column's two weights of a pair share a 32-bit word
    /// (see <see cref="BFloat16PairWeights"/>). An odd input count leaves the last pair's upper
    /// halves zero, as the last panel's padding columns are.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // once per model load
    public static ushort[] PackPairs(ushort[] weight, int outSize, int inSize, int panelWidth)
    {
        int panels = (outSize + panelWidth - 1) / panelWidth;
        int pairs = (inSize + 1) / 2;
        var packed = new ushort[checked(panels * panelWidth * 2 * pairs)];
        for (int j = 0; j < outSize; j++)
        {
            nint start = PairedPanelOffset(j, inSize, panelWidth);
            for (int p = 0; p < inSize; p++)
            {
                packed[start + BFloat16PairWeights.InputOffset(p, panelWidth)] = weight[(j * inSize) + p];
            }
        }

        return packed;
    }

    /// <summary>Where column <paramref name="j"/>'s first weight sits in a matrix packed by <see cref="PackPairs"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static nint PairedPanelOffset(int j, int inSize, int panelWidth) =>
        ((nint)(j / panelWidth) * ((inSize + 1) / 2) * 2 * panelWidth) + (2 * (j % panelWidth));

    /// <summary>Where column <paramref name="j"/>'s first weight sits in a packed matrix.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static nint PanelOffset(int j, int inSize, int panelWidth) => ((nint)(j / panelWidth) * inSize * panelWidth) + (j % panelWidth);

    /// <summary>Outputs [<paramref name="j0"/>, <paramref name="j1"/>) of one embedding through a layer with float weights <paramref name="wt"/> packed by <see cref="Pack{T}"/> at <see cref="ActivePanelWidth"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Row(ReadOnlySpan<float> x, float[] wt, float[] bias, Span<float> y, int inSize, int outSize, int j0, int j1)
    {
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref byte w = ref Unsafe.As<float, byte>(ref MemoryMarshal.GetArrayDataReference(wt));
        ref float b = ref MemoryMarshal.GetArrayDataReference(bias);
        ref float yr = ref MemoryMarshal.GetReference(y);
        if (Vector512.IsHardwareAccelerated)
        {
            Row<Lanes512, Float32Weights>(ref xr, ref w, ref b, ref yr, inSize, outSize, j0, j1);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Row<Lanes256, Float32Weights>(ref xr, ref w, ref b, ref yr, inSize, outSize, j0, j1);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            Row<Lanes128, Float32Weights>(ref xr, ref w, ref b, ref yr, inSize, outSize, j0, j1);
        }
        else
        {
            Row<LanesScalar, Float32Weights>(ref xr, ref w, ref b, ref yr, inSize, outSize, j0, j1);
        }
    }

    /// <summary><see cref="Row(ReadOnlySpan{float}, float[], float[], Span{float}, int, int, int, int)"/> with bfloat16 weights packed by <see cref="PackPairs"/> at <see cref="ActivePanelWidth"/>, widened exactly to the floats they stand for (the same chains, so the same bits as the float row over the widened weights).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Row(ReadOnlySpan<float> x, ushort[] wt, float[] bias, Span<float> y, int inSize, int outSize, int j0, int j1)
    {
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref byte w = ref Unsafe.As<ushort, byte>(ref MemoryMarshal.GetArrayDataReference(wt));
        ref float b = ref MemoryMarshal.GetArrayDataReference(bias);
        ref float yr = ref MemoryMarshal.GetReference(y);
        if (Vector512.IsHardwareAccelerated)
        {
            Row<Lanes512, BFloat16PairWeights>(ref xr, ref w, ref b, ref yr, inSize, outSize, j0, j1);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Row<Lanes256, BFloat16PairWeights>(ref xr, ref w, ref b, ref yr, inSize, outSize, j0, j1);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            Row<Lanes128, BFloat16PairWeights>(ref xr, ref w, ref b, ref yr, inSize, outSize, j0, j1);
        }
        else
        {
            Row<LanesScalar, BFloat16PairWeights>(ref xr, ref w, ref b, ref yr, inSize, outSize, j0, j1);
        }
    }

    /// <summary>
    /// C[i, j] for i in [0, <paramref name="m"/>), j in [0, out): rows of <paramref name="a"/>
    /// (stride <paramref name="lda"/>) through a layer with weights <paramref name="wt"/> packed at <see cref="ActivePanelWidth"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Rows(ReadOnlySpan<float> a, int lda, float[] wt, float[] bias, Span<float> c, int ldc, int m, int inSize, int outSize)
    {
        ref float ar = ref MemoryMarshal.GetReference(a);
        ref float w = ref MemoryMarshal.GetArrayDataReference(wt);
        ref float b = ref MemoryMarshal.GetArrayDataReference(bias);
        ref float cr = ref MemoryMarshal.GetReference(c);
        if (Vector512.IsHardwareAccelerated)
        {
            Rows<Lanes512>(ref ar, lda, ref w, ref b, ref cr, ldc, m, inSize, outSize);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Rows<Lanes256>(ref ar, lda, ref w, ref b, ref cr, ldc, m, inSize, outSize);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            Rows<Lanes128>(ref ar, lda, ref w, ref b, ref cr, ldc, m, inSize, outSize);
        }
        else
        {
            Rows<LanesScalar>(ref ar, lda, ref w, ref b, ref cr, ldc, m, inSize, outSize);
        }
    }

    /// <summary>One embedding, at the width of <typeparamref name="T"/> (tests compare the paths in one process).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Row<T, TW>(ref float x, ref byte wt, ref float bias, ref float y, int inSize, int outSize, int j0, int j1)
        where T : struct, ILanes<T>
        where TW : struct, IWeightElements
    {
        // Eight column vectors per sweep over the inputs: eight independent chains hide the
        // multiply-add latency; each vector's weights advance one panel row (or pair of rows) per
        // step, whichever panel the vector lies in (a vector never straddles two: panels are whole
        // vectors wide).
        int width = T.Count;
        int panel = PanelWidth<T>();
        int step = TW.InputsPerStep;
        nint stride = TW.Offset(TW.StepStride(panel));
        int j = j0;
        for (int head = Math.Min(j1, (j0 + width - 1) / width * width); j < head; j++)
        {
            Unsafe.Add(ref y, j) = Column<T, TW>(ref x, ref wt, ref bias, inSize, panel, j);
        }

        for (; j <= j1 - (8 * width); j += 8 * width)
        {
            nint o0 = TW.ColumnOffset(j, inSize, panel);
            int o1 = (int)(TW.ColumnOffset(j + width, inSize, panel) - o0), o2 = (int)(TW.ColumnOffset(j + (2 * width), inSize, panel) - o0);
            int o3 = (int)(TW.ColumnOffset(j + (3 * width), inSize, panel) - o0), o4 = (int)(TW.ColumnOffset(j + (4 * width), inSize, panel) - o0);
            int o5 = (int)(TW.ColumnOffset(j + (5 * width), inSize, panel) - o0), o6 = (int)(TW.ColumnOffset(j + (6 * width), inSize, panel) - o0);
            int o7 = (int)(TW.ColumnOffset(j + (7 * width), inSize, panel) - o0);
            ref float yj = ref Unsafe.Add(ref y, j);
            ref float bj = ref Unsafe.Add(ref bias, j);
            T c0 = T.Load(ref bj, 0), c1 = T.Load(ref bj, (nuint)width), c2 = T.Load(ref bj, (nuint)(2 * width)), c3 = T.Load(ref bj, (nuint)(3 * width));
            T c4 = T.Load(ref bj, (nuint)(4 * width)), c5 = T.Load(ref bj, (nuint)(5 * width)), c6 = T.Load(ref bj, (nuint)(6 * width)), c7 = T.Load(ref bj, (nuint)(7 * width));
            ref byte row = ref TW.At(ref wt, o0);
            int p = 0;
            for (; p <= inSize - step; p += step)
            {
                TW.Broadcast(ref x, p, out T v0, out T v1);
                c0 = TW.MultiplyAdd(v0, v1, ref row, 0, c0);
                c1 = TW.MultiplyAdd(v0, v1, ref row, o1, c1);
                c2 = TW.MultiplyAdd(v0, v1, ref row, o2, c2);
                c3 = TW.MultiplyAdd(v0, v1, ref row, o3, c3);
                c4 = TW.MultiplyAdd(v0, v1, ref row, o4, c4);
                c5 = TW.MultiplyAdd(v0, v1, ref row, o5, c5);
                c6 = TW.MultiplyAdd(v0, v1, ref row, o6, c6);
                c7 = TW.MultiplyAdd(v0, v1, ref row, o7, c7);
                row = ref Unsafe.AddByteOffset(ref row, stride);
            }

            if (p < inSize)
            {
                T v = T.Broadcast(Unsafe.Add(ref x, p));
                c0 = TW.MultiplyAddLast(v, ref row, 0, c0);
                c1 = TW.MultiplyAddLast(v, ref row, o1, c1);
                c2 = TW.MultiplyAddLast(v, ref row, o2, c2);
                c3 = TW.MultiplyAddLast(v, ref row, o3, c3);
                c4 = TW.MultiplyAddLast(v, ref row, o4, c4);
                c5 = TW.MultiplyAddLast(v, ref row, o5, c5);
                c6 = TW.MultiplyAddLast(v, ref row, o6, c6);
                c7 = TW.MultiplyAddLast(v, ref row, o7, c7);
            }

            T.Store(c0, ref yj, 0);
            T.Store(c1, ref yj, (nuint)width);
            T.Store(c2, ref yj, (nuint)(2 * width));
            T.Store(c3, ref yj, (nuint)(3 * width));
            T.Store(c4, ref yj, (nuint)(4 * width));
            T.Store(c5, ref yj, (nuint)(5 * width));
            T.Store(c6, ref yj, (nuint)(6 * width));
            T.Store(c7, ref yj, (nuint)(7 * width));
        }

        for (; j <= j1 - (2 * width); j += 2 * width)
        {
            nint o0 = TW.ColumnOffset(j, inSize, panel);
            int o1 = (int)(TW.ColumnOffset(j + width, inSize, panel) - o0);
            ref float yj = ref Unsafe.Add(ref y, j);
            T c0 = T.Load(ref bias, (nuint)j), c1 = T.Load(ref bias, (nuint)(j + width));
            ref byte row = ref TW.At(ref wt, o0);
            int p = 0;
            for (; p <= inSize - step; p += step)
            {
                TW.Broadcast(ref x, p, out T v0, out T v1);
                c0 = TW.MultiplyAdd(v0, v1, ref row, 0, c0);
                c1 = TW.MultiplyAdd(v0, v1, ref row, o1, c1);
                row = ref Unsafe.AddByteOffset(ref row, stride);
            }

            if (p < inSize)
            {
                T v = T.Broadcast(Unsafe.Add(ref x, p));
                c0 = TW.MultiplyAddLast(v, ref row, 0, c0);
                c1 = TW.MultiplyAddLast(v, ref row, o1, c1);
            }

            T.Store(c0, ref yj, 0);
            T.Store(c1, ref yj, (nuint)width);
        }

        for (; j <= j1 - width; j += width)
        {
            T c0 = T.Load(ref bias, (nuint)j);
            ref byte row = ref TW.At(ref wt, TW.ColumnOffset(j, inSize, panel));
            int p = 0;
            for (; p <= inSize - step; p += step)
            {
                TW.Broadcast(ref x, p, out T v0, out T v1);
                c0 = TW.MultiplyAdd(v0, v1, ref row, 0, c0);
                row = ref Unsafe.AddByteOffset(ref row, stride);
            }

            if (p < inSize)
            {
                c0 = TW.MultiplyAddLast(T.Broadcast(Unsafe.Add(ref x, p)), ref row, 0, c0);
            }

            T.Store(c0, ref y, (nuint)j);
        }

        for (; j < j1; j++)
        {
            Unsafe.Add(ref y, j) = Column<T, TW>(ref x, ref wt, ref bias, inSize, panel, j);
        }
    }

    /// <summary>Output <paramref name="j"/> alone, in the same chain as a vector lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Column<T, TW>(ref float x, ref byte wt, ref float bias, int inSize, int panel, int j)
        where T : struct, ILanes<T>
        where TW : struct, IWeightElements
    {
        float sum = Unsafe.Add(ref bias, j);
        nint offset = TW.ColumnOffset(j, inSize, panel);
        for (int p = 0; p < inSize; p++)
        {
            sum = T.MultiplyAdd(Unsafe.Add(ref x, p), TW.Scalar(ref wt, offset + TW.InputOffset(p, panel)), sum);
        }

        return sum;
    }

    /// <summary>Many rows, at the width of <typeparamref name="T"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Rows<T>(ref float a, int lda, ref float wp, ref float bias, ref float c, int ldc, int m, int inSize, int outSize)
        where T : struct, ILanes<T>
    {
        // Panels outermost, then depth blocks, then tiles of six rows: a panel's depth block is
        // read from L1 by every tile. Where the registers allow (AVX-512's 32), panels of four
        // vectors (24 accumulators); else two (12 of 16 registers). Layer widths that are
        // multiples of 64 leave no remainder on either.
        int width = T.Count;
        bool wide = T.Count >= 16;
        const int tileRows = 6;
        int panel = PanelWidth<T>();
        int j = 0;
        for (; j <= outSize - panel; j += panel)
        {
            ref float w = ref Unsafe.Add(ref wp, PanelOffset(j, inSize, panel));
            for (int p0 = 0; p0 < inSize; p0 += DepthBlock)
            {
                int p1 = Math.Min(inSize, p0 + DepthBlock);
                int i = 0;
                for (; i <= m - tileRows; i += tileRows)
                {
                    ref float ai = ref Unsafe.Add(ref a, (i * lda) + p0);
                    ref float wb = ref Unsafe.Add(ref w, (nint)p0 * panel);
                    ref float ci = ref Unsafe.Add(ref c, (i * ldc) + j);
                    TileStart start = p0 == 0 ? TileStart.Bias : TileStart.Accumulate;
                    if (wide)
                    {
                        OuterProductTiles.SixByFour<T>(ref ai, lda, 1, ref wb, panel, p1 - p0, ref ci, ldc, start, ref Unsafe.Add(ref bias, j));
                    }
                    else
                    {
                        OuterProductTiles.SixByTwo<T>(ref ai, lda, 1, ref wb, panel, p1 - p0, ref ci, ldc, start, ref Unsafe.Add(ref bias, j));
                    }
                }

                for (; i < m; i++)
                {
                    for (int v = 0; v < panel; v += width)
                    {
                        Tile1x1<T>(ref Unsafe.Add(ref a, i * lda), ref Unsafe.Add(ref w, v), panel, ref bias, ref Unsafe.Add(ref c, i * ldc), j + v, p0, p1);
                    }
                }
            }
        }

        // The last, partial panel: whole vectors, then single columns, row by row (each sweeps the full depth).
        ref float last = ref Unsafe.Add(ref wp, PanelOffset(j, inSize, panel));
        for (int i = 0; i < m; i++)
        {
            ref float ai = ref Unsafe.Add(ref a, i * lda);
            ref float ci = ref Unsafe.Add(ref c, i * ldc);
            int jv = j;
            for (; jv <= outSize - width; jv += width)
            {
                Tile1x1<T>(ref ai, ref Unsafe.Add(ref last, jv - j), panel, ref bias, ref ci, jv, 0, inSize);
            }

            for (; jv < outSize; jv++)
            {
                float sum = Unsafe.Add(ref bias, jv);
                ref float wj = ref Unsafe.Add(ref last, jv - j);
                for (int p = 0; p < inSize; p++)
                {
                    sum = T.MultiplyAdd(Unsafe.Add(ref ai, p), Unsafe.Add(ref wj, (nint)p * panel), sum);
                }

                Unsafe.Add(ref ci, jv) = sum;
            }
        }
    }

    /// <summary>One row, one vector of columns from <paramref name="j"/> (weights from <paramref name="wj"/>, stride <paramref name="ldw"/>), depth [p0, p1): from the bias when p0 is 0, else from C.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile1x1<T>(ref float a, ref float wj, int ldw, ref float bias, ref float row, int j, int p0, int p1)
        where T : struct, ILanes<T>
    {
        ref float cj = ref Unsafe.Add(ref row, j);
        T acc = p0 == 0 ? T.Load(ref bias, (nuint)j) : T.Load(ref cj, 0);
        ref float w = ref Unsafe.Add(ref wj, (nint)p0 * ldw);
        for (int p = p0; p < p1; p++)
        {
            acc = T.MultiplyAdd(T.Broadcast(Unsafe.Add(ref a, p)), T.Load(ref w, 0), acc);
            w = ref Unsafe.Add(ref w, ldw);
        }

        T.Store(acc, ref cj, 0);
    }
}

/// <summary>
/// How a packed weight matrix's elements are stored and stepped through: float32 panels
/// (<see cref="InferenceProducts.Pack{T}"/>), or bfloat16 panels of input pairs
/// (<see cref="InferenceProducts.PackPairs"/>). Either way a column's chain takes its inputs in
/// order, one multiply-add each.
/// </summary>
internal interface IWeightElements
{
    /// <summary>Inputs one step of a chain takes (two for pairs).</summary>
    static abstract int InputsPerStep { get; }

    /// <summary>Bytes from the start to element <paramref name="index"/>.</summary>
    static abstract nint Offset(nint index);

    /// <summary>Element <paramref name="index"/>'s address.</summary>
    static abstract ref byte At(ref byte start, nint index);

    /// <summary>The element where column <paramref name="j"/>'s weights start.</summary>
    static abstract nint ColumnOffset(int j, int inSize, int panel);

    /// <summary>Elements from input <paramref name="p"/>'s weight of a column to its first.</summary>
    static abstract nint InputOffset(int p, int panel);

    /// <summary>Elements from one step's weights to the next step's in a panel.</summary>
    static abstract nint StepStride(int panel);

    /// <summary>The inputs of the step at <paramref name="p"/>, each in every lane (<paramref name="second"/> unused with one input per step).</summary>
    static abstract void Broadcast<T>(ref float x, int p, out T first, out T second)
        where T : struct, ILanes<T>;

    /// <summary>One step of the lanes' chains over the weights at element <paramref name="index"/> from <paramref name="start"/>.</summary>
    static abstract T MultiplyAdd<T>(T first, T second, ref byte start, int index, T sum)
        where T : struct, ILanes<T>;

    /// <summary>A last step of one input (the odd one out of pairs).</summary>
    static abstract T MultiplyAddLast<T>(T first, ref byte start, int index, T sum)
        where T : struct, ILanes<T>;

    /// <summary>Element <paramref name="index"/> as a float.</summary>
    static abstract float Scalar(ref byte start, nint index);
}

/// <summary>float32 weights in panels, one input per step.</summary>
internal readonly struct Float32Weights : IWeightElements
{
    public static int InputsPerStep => 1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nint Offset(nint index) => index * sizeof(float);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ref byte At(ref byte start, nint index) => ref Unsafe.AddByteOffset(ref start, index * sizeof(float));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nint ColumnOffset(int j, int inSize, int panel) => InferenceProducts.PanelOffset(j, inSize, panel);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nint InputOffset(int p, int panel) => (nint)p * panel;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nint StepStride(int panel) => panel;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Broadcast<T>(ref float x, int p, out T first, out T second)
        where T : struct, ILanes<T>
    {
        first = T.Broadcast(Unsafe.Add(ref x, p));
        second = default;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T MultiplyAdd<T>(T first, T second, ref byte start, int index, T sum)
        where T : struct, ILanes<T> => T.MultiplyAdd(first, T.Load(ref Unsafe.As<byte, float>(ref start), (nuint)index), sum);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T MultiplyAddLast<T>(T first, ref byte start, int index, T sum)
        where T : struct, ILanes<T> => T.MultiplyAdd(first, T.Load(ref Unsafe.As<byte, float>(ref start), (nuint)index), sum);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Scalar(ref byte start, nint index) => Unsafe.Add(ref Unsafe.As<byte, float>(ref start), index);
}

/// <summary>
/// bfloat16 weights in panels of input pairs, two inputs per step: each 32-bit word holds a
/// column's weights for inputs 2q (lower half) and 2q + 1 (upper half), so one full-width load
/// widens to two vectors with a shift and a mask (the upper half already sits where a float's
/// bits go). Widening half-width loads instead cost a shuffle and a shift per vector.
/// </summary>
internal readonly struct BFloat16PairWeights : IWeightElements
{
    public static int InputsPerStep => 2;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nint Offset(nint index) => index * sizeof(ushort);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ref byte At(ref byte start, nint index) => ref Unsafe.AddByteOffset(ref start, index * sizeof(ushort));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nint ColumnOffset(int j, int inSize, int panel) => InferenceProducts.PairedPanelOffset(j, inSize, panel);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nint InputOffset(int p, int panel) => ((nint)(p >> 1) * 2 * panel) + (p & 1);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nint StepStride(int panel) => 2 * panel;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Broadcast<T>(ref float x, int p, out T first, out T second)
        where T : struct, ILanes<T>
    {
        first = T.Broadcast(Unsafe.Add(ref x, p));
        second = T.Broadcast(Unsafe.Add(ref x, p + 1));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T MultiplyAdd<T>(T first, T second, ref byte start, int index, T sum)
        where T : struct, ILanes<T>
    {
        T.LoadBFloat16Pairs(ref Unsafe.As<byte, ushort>(ref start), (nuint)index, out T lower, out T upper);
        return T.MultiplyAdd(second, upper, T.MultiplyAdd(first, lower, sum));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T MultiplyAddLast<T>(T first, ref byte start, int index, T sum)
        where T : struct, ILanes<T>
    {
        T.LoadBFloat16Pairs(ref Unsafe.As<byte, ushort>(ref start), (nuint)index, out T lower, out T _);
        return T.MultiplyAdd(first, lower, sum);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Scalar(ref byte start, nint index) => BFloat16.ToSingle(Unsafe.Add(ref Unsafe.As<byte, ushort>(ref start), index));
}
