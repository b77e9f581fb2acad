using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using AgeGroupAnomaly.Compute;
using AgeGroupAnomaly.Modeling;

namespace AgeGroupAnomaly.Compute;

/// <summary>
/// The autoencoder's eval-mode forward pass in plain managed code (dropout is the identity in eval
/// mode), reading the weights directly: scoring needs no libtorch. Thread-safe; per-thread scratch
/// buffers mean a call allocates nothing.
/// </summary>
/// <remarks>
/// The weights are held transposed in column panels and every output is one multiply-add chain in input order
/// (<see cref="InferenceProducts"/>) whether the row is scored alone, inside a batch tile or split
/// across cores, so batch results equal single results bit for bit.
/// </remarks>
internal sealed class InferenceKernel
{
    // Rows per chunk of a batch: a multiple of the products' six-row tiles; the chunk's input rows,
    // its two activation buffers and the largest layer's weights stay within one core's 2 MB L2
    // on the 832 → [256, …] models.
    private const int ChunkRows = 120;

    [ThreadStatic]
    private static float[]? t_scratch;

    [ThreadStatic]
    private static double[]? t_squaredErrors;

    private readonly Layer[] _layers;
    private readonly int _maxWidth;
    private readonly InputStandardizer? _standardizer;

    /// <summary>Builds the kernel over a copy of the given weights packed in column panels (<see cref="InferenceProducts.Pack{T}"/>).</summary>
    /// <param name="weights">The weights.</param>
    /// <param name="compactWeights">
    /// Whether single scores read the weight matrices as bfloat16 (rounded to nearest at load, half
    /// the bytes; sums stay float). Batch scores then use the same rounded values as floats, so
    /// batch and single scores still agree bit for bit.
    /// </param>
    public InferenceKernel(ModelWeights weights, bool compactWeights = false)
    {
        ArgumentNullException.ThrowIfNull(weights);
        IReadOnlyList<LinearLayerShape> shapes = weights.Architecture.Layers;
        _layers = new Layer[shapes.Count];
        for (int i = 0; i < shapes.Count; i++)
        {
            float[] weight = weights.Layers[i].Weight;
            ushort[]? compact = null;
            if (compactWeights)
            {
                compact = new ushort[weight.Length];
                float[] rounded = new float[weight.Length];
                for (int k = 0; k < weight.Length; k++)
                {
                    compact[k] = BFloat16.FromSingle(weight[k]);
                    rounded[k] = BFloat16.ToSingle(compact[k]);
                }

                weight = rounded;
            }

            int inSize = shapes[i].InputSize, outSize = shapes[i].OutputSize;
            _layers[i] = new Layer(
                inSize,
                outSize,
                shapes[i].ReluAfter,
                RowMajor ? weight : InferenceProducts.Pack(weight, outSize, inSize, InferenceProducts.ActivePanelWidth),
                weights.Layers[i].Bias,
                compact is null || RowMajor ? compact : InferenceProducts.PackPairs(compact, outSize, inSize, InferenceProducts.ActivePanelWidth));
        }

        CompactWeights = compactWeights;

        InputSize = weights.Architecture.InputSize;
        _maxWidth = Math.Max(InputSize, _layers.Max(l => l.Out));
        Architecture = weights.Architecture;
        _standardizer = weights.Standardizer;
    }

    /// <summary>Whether single scores read bfloat16 weights.</summary>
    public bool CompactWeights { get; }

    /// <summary>Length of the embeddings the kernel takes.</summary>
    public int InputSize { get; }

    /// <summary>The architecture of the weights.</summary>
    public ArchitectureInfo Architecture { get; }

    /// <summary>Reconstructs one embedding (on the embedding's own scale when the weights carry a standardizer).</summary>
    /// <param name="input">The embedding (length <see cref="InputSize"/>).</param>
    /// <param name="output">Receives the reconstruction (length <see cref="InputSize"/>).</param>
    public void Reconstruct(ReadOnlySpan<float> input, Span<float> output)
    {
        CheckLength(input.Length);
        CheckLength(output.Length);
        if (_standardizer is null)
        {
            ReconstructInto(input, output);
            return;
        }

        Span<float> standardized = Scratch((2 * _maxWidth) + InputSize).Slice(2 * _maxWidth, InputSize);
        _standardizer.Apply(input, standardized);
        ReconstructInto(standardized, output);
        _standardizer.Invert(output);
    }

    /// <summary>Mean squared reconstruction error of one embedding.</summary>
    /// <param name="input">The embedding.</param>
    /// <returns>The error.</returns>
    public double ReconstructionLoss(ReadOnlySpan<float> input) => ReconstructionLoss(input, [], []);

    /// <summary>
    /// Mean squared reconstruction error, overall and per segment; with a standardizer, of the
    /// standardized embedding z = (x − mean) · (1 / scale) against the reconstruction of z.
    /// </summary>
    /// <param name="input">The embedding.</param>
    /// <param name="segments">Segments to measure separately.</param>
    /// <param name="segmentErrors">Receives one error per segment.</param>
    /// <returns>The overall error.</returns>
    public double ReconstructionLoss(ReadOnlySpan<float> input, ReadOnlySpan<EmbeddingSegment> segments, Span<double> segmentErrors) =>
        ReconstructionLoss(input, segments, segmentErrors, []);

    /// <summary>As above, and the <paramref name="top"/>.Length features with the largest squared errors, largest first.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public double ReconstructionLoss(ReadOnlySpan<float> input, ReadOnlySpan<EmbeddingSegment> segments, Span<double> segmentErrors, Span<FeatureLoss> top)
    {
        CheckLength(input.Length);
        Span<float> scratch = Scratch((2 * _maxWidth) + (2 * InputSize));
        Span<float> reconstruction = scratch.Slice(2 * _maxWidth, InputSize);
        if (_standardizer is not null)
        {
            Span<float> standardized = scratch.Slice((2 * _maxWidth) + InputSize, InputSize);
            _standardizer.Apply(input, standardized);
            input = standardized;
        }

        if (!(SecondCore is { } helper && helper.TryForward(this, input, reconstruction)))
        {
            ReconstructInto(input, reconstruction);
        }

        return Errors(input, reconstruction, segments, segmentErrors, top);
    }

    /// <summary>
    /// A helper that single-embedding scores may hand half of every layer to (when it is free and
    /// awake; otherwise the caller computes alone), or null. Results are the same bit for bit either way.
    /// </summary>
    internal SecondCore? SecondCore { get; init; }

    internal int LayerCount => _layers.Length;

    internal int MaxWidth => _maxWidth;

    /// <summary>Where layer <paramref name="layer"/>'s outputs are split between the caller (below) and the helper (from here on).</summary>
    internal int SplitPoint(int layer)
    {
        int outputs = _layers[layer].Out;
        int half = outputs / 32 * 16; // a whole number of the widest vectors
        return half > 0 ? half : outputs / 8 * 4; // a layer narrower than two of them still splits
    }

    internal int OutputSize(int layer) => _layers[layer].Out;

    /// <summary>
    /// Outputs [<paramref name="j0"/>, <paramref name="j1"/>) of layer <paramref name="layer"/> in the
    /// ping-pong buffers of a split forward pass: layer l reads <paramref name="a"/> or
    /// <paramref name="b"/> (the input for layer 0) and writes the other, the last layer writes <paramref name="output"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal void ForwardPart(int layer, float[] input, float[] a, float[] b, float[] output, int j0, int j1)
    {
        Layer l = _layers[layer];
        ReadOnlySpan<float> source = layer == 0 ? input.AsSpan(0, InputSize) : (layer % 2 == 1 ? a : b).AsSpan(0, l.In);
        Span<float> target = layer == _layers.Length - 1 ? output.AsSpan(0, l.Out) : (layer % 2 == 0 ? a : b).AsSpan(0, l.Out);
        ForwardRange(l, source, target, j0, j1);
    }

    /// <summary>
    /// Errors for many embeddings (rows of a row-major block); equal to scoring each alone. Large
    /// batches are split across the machine's cores.
    /// </summary>
    /// <param name="rows">Rows × <see cref="InputSize"/> values.</param>
    /// <param name="errors">Receives one error per row.</param>
    public void ReconstructionLosses(ReadOnlySpan<float> rows, Span<double> errors) => ReconstructionLosses(rows, errors, []);

    /// <summary>As above, and per row the <paramref name="top"/>.Length / rows features with the largest squared errors (row after row, largest first).</summary>
    public void ReconstructionLosses(ReadOnlySpan<float> rows, Span<double> errors, Span<FeatureLoss> top)
    {
        if (rows.Length != errors.Length * InputSize)
        {
            throw new ArgumentException($"{rows.Length} values are not {errors.Length} rows of {InputSize}.", nameof(rows));
        }

        int chunks = (errors.Length + ChunkRows - 1) / ChunkRows;
        int perRow = errors.Length == 0 ? 0 : top.Length / errors.Length;
        if (chunks < 2 || Environment.ProcessorCount < 2)
        {
            ErrorsOfChunk(rows, errors, top);
            return;
        }

        // Spans cannot enter the chunk bodies; the caller's arrays are pinned for their duration.
        unsafe
        {
            fixed (float* rowPointer = rows)
            fixed (double* errorPointer = errors)
            fixed (FeatureLoss* topPointer = top)
            {
                nint rowAddress = (nint)rowPointer, errorAddress = (nint)errorPointer, topAddress = (nint)topPointer;
                int count = errors.Length, inputSize = InputSize;
                void Chunk(int chunk)
                {
                    int first = chunk * ChunkRows;
                    int length = Math.Min(ChunkRows, count - first);
                    var chunkRows = new ReadOnlySpan<float>((float*)rowAddress + ((long)first * inputSize), length * inputSize);
                    var chunkErrors = new Span<double>((double*)errorAddress + first, length);
                    var chunkTop = perRow == 0 ? [] : new Span<FeatureLoss>((FeatureLoss*)topAddress + ((long)first * perRow), length * perRow);
                    ErrorsOfChunk(chunkRows, chunkErrors, chunkTop);
                }

                ForEachChunk(chunks, Chunk);
            }
        }
    }

    /// <summary>
    /// Errors of the given rows of separate embeddings (equal to scoring each alone), without first
    /// copying the batch into one block: each chunk checks its rows (length, finite values) and
    /// copies or standardizes them straight into its own buffer, on the caller and the helper when
    /// there is one. Returns −1, or the lowest position in <paramref name="rows"/> of a row that
    /// failed the check (the errors are then incomplete). The first <paramref name="topLength"/>
    /// entries of <paramref name="top"/> (a rented array may be longer) receive each row's top features.
    /// <paramref name="chunkDone"/>, when given, runs for each chunk whose rows all passed, on the
    /// thread that computed it, with the chunk's first position and length: callers turn errors into
    /// results there, on both cores, instead of in one pass afterwards.
    /// </summary>
    internal int CheckedReconstructionLosses(IReadOnlyList<ReadOnlyMemory<float>> embeddings, IReadOnlyList<int> rows, double[] errors, FeatureLoss[] top, int topLength, Action<int, int>? chunkDone = null)
    {
        int count = rows.Count;
        int chunks = (count + ChunkRows - 1) / ChunkRows;
        int perRow = count == 0 ? 0 : topLength / count;
        int firstBad = int.MaxValue;
        void Chunk(int chunk)
        {
            int first = chunk * ChunkRows;
            int length = Math.Min(ChunkRows, count - first);
            int bad = ErrorsOfGatheredChunk(embeddings, rows, first, length, errors.AsSpan(first, length), top.AsSpan(first * perRow, length * perRow));
            if (bad >= 0)
            {
                InterlockedMin(ref firstBad, bad);
            }
            else
            {
                chunkDone?.Invoke(first, length);
            }
        }

        ForEachChunk(chunks, Chunk);
        return firstBad == int.MaxValue ? -1 : firstBad;
    }

    /// <summary>
    /// Runs <paramref name="chunk"/> for chunks 0 … <paramref name="chunks"/> − 1 across the cores. A
    /// manager's kernel uses the manager's own helper thread beside the caller (no thread-pool
    /// thread), and while a single score holds it the caller works alone; a kernel without a helper
    /// uses the thread pool.
    /// </summary>
    private void ForEachChunk(int chunks, Action<int> chunk)
    {
        if (chunks >= 2 && Environment.ProcessorCount >= 2)
        {
            if (SecondCore is null)
            {
                Parallel.For(0, chunks, chunk);
                return;
            }

            if (SecondCore.TryForEachChunk(chunks, chunk))
            {
                return;
            }
        }

        for (int c = 0; c < chunks; c++)
        {
            chunk(c);
        }
    }

    private static void InterlockedMin(ref int target, int value)
    {
        int current = Volatile.Read(ref target);
        while (value < current)
        {
            int seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    /// <summary>Checks and gathers one chunk's rows, then its errors; −1, or the position of the first bad row.</summary>
    private int ErrorsOfGatheredChunk(IReadOnlyList<ReadOnlyMemory<float>> embeddings, IReadOnlyList<int> rows, int first, int length, Span<double> errors, Span<FeatureLoss> top)
    {
        float[] block = ArrayPool<float>.Shared.Rent(length * InputSize);
        try
        {
            for (int r = 0; r < length; r++)
            {
                ReadOnlySpan<float> row = embeddings[rows[first + r]].Span;
                if (row.Length != InputSize || !FiniteValues.IsAllFinite(row))
                {
                    return first + r;
                }

                Span<float> target = block.AsSpan(r * InputSize, InputSize);
                if (_standardizer is null)
                {
                    row.CopyTo(target);
                }
                else
                {
                    _standardizer.Apply(row, target); // the same per-row transform as a single score
                }
            }

            ErrorsOfStandardizedChunk(block.AsSpan(0, length * InputSize), errors, top);
            return -1;
        }
        finally
        {
            ArrayPool<float>.Shared.Return(block);
        }
    }

    private void ErrorsOfChunk(ReadOnlySpan<float> rows, Span<double> errors, Span<FeatureLoss> top)
    {
        if (_standardizer is null)
        {
            ErrorsOfStandardizedChunk(rows, errors, top);
            return;
        }

        float[] standardized = ArrayPool<float>.Shared.Rent(rows.Length);
        try
        {
            // The same per-row transform as a single score, so batch errors stay equal bit for bit.
            for (int r = 0; r < errors.Length; r++)
            {
                _standardizer.Apply(rows.Slice(r * InputSize, InputSize), standardized.AsSpan(r * InputSize, InputSize));
            }

            ErrorsOfStandardizedChunk(standardized.AsSpan(0, rows.Length), errors, top);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(standardized);
        }
    }

    /// <summary>Layer by layer over the whole chunk (rows already standardized): each weight is read once per chunk, not once per row.</summary>
    private void ErrorsOfStandardizedChunk(ReadOnlySpan<float> rows, Span<double> errors, Span<FeatureLoss> top)
    {
        int perRow = errors.Length == 0 ? 0 : top.Length / errors.Length;
        int count = errors.Length;
        int width = _maxWidth;
        float[] buffers = ArrayPool<float>.Shared.Rent(2 * count * width);
        try
        {
            ReadOnlySpan<float> current = rows;
            int stride = InputSize;
            for (int l = 0; l < _layers.Length; l++)
            {
                Layer layer = _layers[l];
                Span<float> target = buffers.AsSpan(l % 2 == 0 ? 0 : count * width, count * layer.Out);
                if (RowMajor)
                {
                    MatrixKernels.MultiplyTransposed(current, stride, layer.Weight, layer.In, layer.Bias, target, layer.Out, count, layer.In, 0, layer.Out);
                }
                else
                {
                    InferenceProducts.Rows(current, stride, layer.Weight, layer.Bias, target, layer.Out, count, layer.In, layer.Out);
                }
                if (layer.Relu)
                {
                    Elementwise.Relu(target);
                }

                current = target;
                stride = layer.Out;
            }

            for (int r = 0; r < count; r++)
            {
                ReadOnlySpan<float> row = rows.Slice(r * InputSize, InputSize), reconstruction = current.Slice(r * InputSize, InputSize);
                errors[r] = Errors(row, reconstruction, [], [], top.Slice(r * perRow, perRow));
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(buffers);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ReconstructInto(ReadOnlySpan<float> input, Span<float> output)
    {
        Span<float> scratch = Scratch(2 * _maxWidth);
        Span<float> a = scratch[.._maxWidth];
        Span<float> b = scratch.Slice(_maxWidth, _maxWidth);
        ReadOnlySpan<float> current = input;
        for (int l = 0; l < _layers.Length; l++)
        {
            Layer layer = _layers[l];
            Span<float> target = l == _layers.Length - 1 ? output : (l % 2 == 0 ? a : b)[..layer.Out];
            ForwardOne(layer, current, target);
            current = target;
        }
    }

    /// <summary>
    /// The mean squared error, per segment and overall, and the top.Length features with the
    /// largest squared errors: the squared errors are computed once, in vectors, into a buffer.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double Errors(ReadOnlySpan<float> input, ReadOnlySpan<float> reconstruction, ReadOnlySpan<EmbeddingSegment> segments, Span<double> segmentErrors, Span<FeatureLoss> top)
    {
        double[]? buffer = t_squaredErrors;
        if (buffer is null || buffer.Length < input.Length)
        {
            buffer = new double[input.Length];
            t_squaredErrors = buffer;
        }

        Span<double> squared = buffer.AsSpan(0, input.Length);
        SquaredErrors(input, reconstruction, squared);
        TopFeatures(squared, top);
        for (int s = 0; s < segments.Length; s++)
        {
            EmbeddingSegment segment = segments[s];
            segmentErrors[s] = Sum(squared.Slice(segment.Start, segment.Length)) / segment.Length;
        }

        return Sum(squared) / input.Length;
    }

    /// <summary>
    /// squared[i] = ((double)x[i] − y[i])², widened and computed in vectors where the processor has
    /// them (exactly the scalar formula's value in every lane). A scalar loop here converted each
    /// float into a register that still held the previous value, which chained all 832 iterations.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void SquaredErrors(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<double> squared)
    {
        int n = x.Length;
        y = y[..n];
        squared = squared[..n];
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        ref double sr = ref MemoryMarshal.GetReference(squared);
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int width = Vector<float>.Count;
            for (; i <= n - width; i += width)
            {
                Vector.Widen(Vector.LoadUnsafe(ref xr, (nuint)i), out Vector<double> xl, out Vector<double> xh);
                Vector.Widen(Vector.LoadUnsafe(ref yr, (nuint)i), out Vector<double> yl, out Vector<double> yh);
                Vector<double> dl = xl - yl, dh = xh - yh;
                (dl * dl).StoreUnsafe(ref sr, (nuint)i);
                (dh * dh).StoreUnsafe(ref sr, (nuint)(i + Vector<double>.Count));
            }
        }

        for (; i < n; i++)
        {
            double d = (double)Unsafe.Add(ref xr, i) - Unsafe.Add(ref yr, i);
            Unsafe.Add(ref sr, i) = d * d;
        }
    }

    /// <summary>
    /// The top.Length largest squared errors, largest first (ties: lower index first), by insertion
    /// into a short sorted list. Once k are kept, runs of features none of which beats the k-th are
    /// skipped a vector at a time (the features the scalar test would pass over, so the same result):
    /// one scalar comparison per feature cost 3–5 µs of a ~30 µs single score.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void TopFeatures(ReadOnlySpan<double> squared, Span<FeatureLoss> top)
    {
        if (top.IsEmpty)
        {
            return;
        }

        int k = Math.Min(top.Length, squared.Length), filled = 0, n = squared.Length;
        ref double sr = ref MemoryMarshal.GetReference(squared);
        double smallestKept = double.NegativeInfinity; // the k-th largest so far, once k are kept
        for (int i = 0; i < n; i++)
        {
            if (filled == k)
            {
                i = SkipNotAbove(ref sr, i, n, smallestKept);
                if (i == n)
                {
                    break;
                }
            }

            double e = squared[i];
            if (e <= smallestKept)
            {
                continue;
            }

            int j = filled < k ? filled++ : k - 1;
            while (j > 0 && top[j - 1].SquaredError < e)
            {
                top[j] = top[j - 1];
                j--;
            }

            top[j] = new FeatureLoss(i, e);
            if (filled == k)
            {
                smallestKept = top[k - 1].SquaredError;
            }
        }
    }

    /// <summary>
    /// The first index from <paramref name="i"/> on whose value is not ≤ <paramref name="bound"/>
    /// (NaN counts as not), at least <paramref name="i"/>, tested a vector at a time; <paramref name="n"/> if none.
    /// Only whole vectors are skipped: the caller's scalar test sees the rest.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int SkipNotAbove(ref double values, int i, int n, double bound)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            var b = Vector512.Create(bound);
            while (i <= n - 8 && Vector512.LessThanOrEqualAll(Vector512.LoadUnsafe(ref values, (nuint)i), b))
            {
                i += 8;
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var b = Vector256.Create(bound);
            while (i <= n - 4 && Vector256.LessThanOrEqualAll(Vector256.LoadUnsafe(ref values, (nuint)i), b))
            {
                i += 4;
            }
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            var b = Vector128.Create(bound);
            while (i <= n - 2 && Vector128.LessThanOrEqualAll(Vector128.LoadUnsafe(ref values, (nuint)i), b))
            {
                i += 2;
            }
        }

        return i;
    }

    /// <summary>
    /// Σ values over eight interleaved partial sums (eight independent addition chains instead of
    /// one), added pairwise, then the tail: the same order on every SIMD path.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static double Sum(ReadOnlySpan<double> values)
    {
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        int i = 0;
        for (; i <= values.Length - 8; i += 8)
        {
            s0 += values[i];
            s1 += values[i + 1];
            s2 += values[i + 2];
            s3 += values[i + 3];
            s4 += values[i + 4];
            s5 += values[i + 5];
            s6 += values[i + 6];
            s7 += values[i + 7];
        }

        double sum = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
        for (; i < values.Length; i++)
        {
            sum += values[i];
        }

        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardOne(Layer layer, ReadOnlySpan<float> input, Span<float> output) => ForwardRange(layer, input, output, 0, layer.Out);

    /// <summary>Outputs [<paramref name="j0"/>, <paramref name="j1"/>) of one layer for one embedding (each output computed the same way whatever the range).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardRange(Layer layer, ReadOnlySpan<float> input, Span<float> output, int j0, int j1)
    {
        if (RowMajor)
        {
            RowMajorRange(layer, input, output, j0, j1);
        }
        else if (layer.Compact is { } compact)
        {
            InferenceProducts.Row(input, compact, layer.Bias, output, layer.In, layer.Out, j0, j1);
        }
        else
        {
            InferenceProducts.Row(input, layer.Weight, layer.Bias, output, layer.In, layer.Out, j0, j1);
        }

        if (layer.Relu)
        {
            Elementwise.Relu(output[j0..j1]);
        }
    }

    private static Span<float> Scratch(int length)
    {
        float[]? scratch = t_scratch;
        if (scratch is null || scratch.Length < length)
        {
            scratch = new float[length];
            t_scratch = scratch;
        }

        return scratch.AsSpan(0, length);
    }

    private void CheckLength(int length)
    {
        if (length != InputSize)
        {
            throw new InvalidEmbeddingException($"The embedding has {length} values but the model takes {InputSize}.");
        }
    }

    /// <summary>A layer with its weights packed in column panels (<see cref="InferenceProducts.Pack{T}"/>; on the scalar path PyTorch's [out × in], see <see cref="RowMajor"/>); <see cref="Compact"/> the same as bfloat16 in panels of input pairs (<see cref="InferenceProducts.PackPairs"/>; row-major on the scalar path), or null.</summary>
    private sealed record Layer(int In, int Out, bool Relu, float[] Weight, float[] Bias, ushort[]? Compact);

    /// <summary>
    /// Without hardware vectors the weights stay in PyTorch's [out × in] layout and both single and
    /// batch scores use dot products (<see cref="MatrixKernels"/>, one order for both): outer
    /// products over two-lane column blocks scored 1.5–2× slower there.
    /// </summary>
    private static bool RowMajor => SimdPaths.Active == SimdPath.Scalar;

    /// <summary>Outputs [<paramref name="j0"/>, <paramref name="j1"/>) of a row-major layer: four weight rows at a time share each input load, each output in <see cref="MatrixKernels.Dot{T}"/>'s order (the batch kernel's too).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowMajorRange(Layer layer, ReadOnlySpan<float> input, Span<float> output, int j0, int j1)
    {
        ref float x = ref MemoryMarshal.GetReference(input);
        ref float weights = ref MemoryMarshal.GetArrayDataReference(layer.Weight);
        ref float bias = ref MemoryMarshal.GetArrayDataReference(layer.Bias);
        ref float o = ref MemoryMarshal.GetReference(output);
        int n = layer.In;
        int j = j0;
        if (layer.Compact is { } compact)
        {
            ref ushort half = ref MemoryMarshal.GetArrayDataReference(compact);
            for (; j <= j1 - 4; j += 4)
            {
                (float d0, float d1, float d2, float d3) = MatrixKernels.Dot4BFloat16(ref x, ref Unsafe.Add(ref half, j * n), n, n);
                MatrixKernels.Store4(ref Unsafe.Add(ref o, j), d0, d1, d2, d3, ref Unsafe.Add(ref bias, j));
            }
        }

        for (; j <= j1 - 4; j += 4)
        {
            (float d0, float d1, float d2, float d3) = MatrixKernels.Dot4<LanesScalar>(ref x, ref Unsafe.Add(ref weights, j * n), n, n);
            MatrixKernels.Store4(ref Unsafe.Add(ref o, j), d0, d1, d2, d3, ref Unsafe.Add(ref bias, j));
        }

        for (; j < j1; j++)
        {
            Unsafe.Add(ref o, j) = MatrixKernels.Dot<LanesScalar>(ref x, ref Unsafe.Add(ref weights, j * n), n) + Unsafe.Add(ref bias, j);
        }
    }
}
