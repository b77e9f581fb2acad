using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace AgeGroupAnomaly.Modeling;

/// <summary>
/// The per-feature transform a model's inputs go through before the autoencoder sees them:
/// z = (x − <see cref="Mean"/>) / <see cref="Scale"/>. The trainer fits it on the rows it trains on
/// (mean and population standard deviation per feature, no scale below half the median of the
/// features' standard deviations), the checkpoint stores it, and scoring applies it; a model's score
/// is the mean squared difference between z and the autoencoder's reconstruction of z.
/// </summary>
/// <remarks>
/// The floor keeps near-constant features (for example the slots of a one-hot code) from being
/// blown up into noise. The managed kernel multiplies by a precomputed 1 / scale in float32.
/// </remarks>
public sealed class InputStandardizer
{
    /// <summary>The floor on each feature's scale, as a fraction of the median feature standard deviation.</summary>
    public const double ScaleFloorFraction = 0.5;

    private readonly float[] _mean;
    private readonly float[] _scale;
    private readonly float[] _inverseScale;

    /// <summary>Creates a standardizer from stored values.</summary>
    /// <param name="mean">Per-feature mean (finite).</param>
    /// <param name="scale">Per-feature scale (finite and positive), same length as <paramref name="mean"/>.</param>
    /// <exception cref="ArgumentException">The lengths differ, are zero, or a value is out of range.</exception>
    public InputStandardizer(ReadOnlySpan<float> mean, ReadOnlySpan<float> scale)
    {
        if (mean.Length == 0 || mean.Length != scale.Length)
        {
            throw new ArgumentException($"Mean and scale need the same, non-zero length; got {mean.Length} and {scale.Length}.", nameof(scale));
        }

        for (int j = 0; j < mean.Length; j++)
        {
            if (!float.IsFinite(mean[j]))
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Mean[{j}] is {mean[j]}; it must be finite."), nameof(mean));
            }

            if (!(float.IsFinite(scale[j]) && scale[j] > 0 && float.IsFinite(1f / scale[j])))
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Scale[{j}] is {scale[j]}; it must be a finite positive number with a finite inverse."), nameof(scale));
            }
        }

        _mean = mean.ToArray();
        _scale = scale.ToArray();
        _inverseScale = new float[_scale.Length];
        for (int j = 0; j < _scale.Length; j++)
        {
            _inverseScale[j] = 1f / _scale[j];
        }
    }

    /// <summary>Number of features.</summary>
    public int Dimension => _mean.Length;

    /// <summary>Per-feature mean subtracted from the input.</summary>
    public ReadOnlyMemory<float> Mean => _mean;

    /// <summary>Per-feature scale the centred input is divided by.</summary>
    public ReadOnlyMemory<float> Scale => _scale;

    /// <summary>
    /// Fits mean and scale on row-major rows: per feature the mean and the population standard
    /// deviation, raised to <see cref="ScaleFloorFraction"/> × the median standard deviation; a scale
    /// that is still zero (every feature constant) becomes 1.
    /// </summary>
    /// <param name="rows">Rows × <paramref name="dimension"/> values.</param>
    /// <param name="dimension">Length of one row.</param>
    /// <returns>The fitted standardizer.</returns>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // runs once per training, over every value: never left to the JIT's tiers
    public static InputStandardizer Fit(ReadOnlySpan<float> rows, int dimension)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 1);
        if (rows.Length == 0 || rows.Length % dimension != 0)
        {
            throw new ArgumentException($"{rows.Length} values are not a positive number of rows of {dimension}.", nameof(rows));
        }

        int count = rows.Length / dimension;
        double[] mean = new double[dimension];
        double[] variance = new double[dimension];
        for (int r = 0; r < count; r++)
        {
            AddRow(rows.Slice(r * dimension, dimension), mean);
        }

        for (int j = 0; j < dimension; j++)
        {
            mean[j] /= count;
        }

        for (int r = 0; r < count; r++)
        {
            AddSquaredDeviations(rows.Slice(r * dimension, dimension), mean, variance);
        }

        double[] std = [.. variance.Select(v => Math.Sqrt(v / count))];
        double[] sorted = [.. std.Order()];
        double median = sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
        double floor = ScaleFloorFraction * median;
        float[] meanOut = new float[dimension];
        float[] scaleOut = new float[dimension];
        for (int j = 0; j < dimension; j++)
        {
            meanOut[j] = (float)mean[j];
            float scale = (float)Math.Max(std[j], floor);
            scaleOut[j] = scale > 0 && float.IsFinite(1f / scale) ? scale : 1f;
        }

        return new InputStandardizer(meanOut, scaleOut);
    }

    /// <summary>sums[j] += row[j] in double, a vector of features at a time (each lane the scalar formula, so the same sums).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddRow(ReadOnlySpan<float> row, double[] sums)
    {
        ref float x = ref MemoryMarshal.GetReference(row);
        ref double s = ref MemoryMarshal.GetArrayDataReference(sums);
        int j = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int width = Vector<float>.Count, half = Vector<double>.Count;
            for (; j <= row.Length - width; j += width)
            {
                Vector.Widen(Vector.LoadUnsafe(ref x, (nuint)j), out Vector<double> low, out Vector<double> high);
                (Vector.LoadUnsafe(ref s, (nuint)j) + low).StoreUnsafe(ref s, (nuint)j);
                (Vector.LoadUnsafe(ref s, (nuint)(j + half)) + high).StoreUnsafe(ref s, (nuint)(j + half));
            }
        }

        for (; j < row.Length; j++)
        {
            Unsafe.Add(ref s, j) += Unsafe.Add(ref x, j);
        }
    }

    /// <summary>variance[j] += (row[j] − mean[j])² in double, a vector of features at a time (the scalar formula per lane: a multiply, then an add).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddSquaredDeviations(ReadOnlySpan<float> row, double[] mean, double[] variance)
    {
        ref float x = ref MemoryMarshal.GetReference(row);
        ref double m = ref MemoryMarshal.GetArrayDataReference(mean);
        ref double v = ref MemoryMarshal.GetArrayDataReference(variance);
        int j = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int width = Vector<float>.Count, half = Vector<double>.Count;
            for (; j <= row.Length - width; j += width)
            {
                Vector.Widen(Vector.LoadUnsafe(ref x, (nuint)j), out Vector<double> low, out Vector<double> high);
                Vector<double> dl = low - Vector.LoadUnsafe(ref m, (nuint)j), dh = high - Vector.LoadUnsafe(ref m, (nuint)(j + half));
                (Vector.LoadUnsafe(ref v, (nuint)j) + (dl * dl)).StoreUnsafe(ref v, (nuint)j);
                (Vector.LoadUnsafe(ref v, (nuint)(j + half)) + (dh * dh)).StoreUnsafe(ref v, (nuint)(j + half));
            }
        }

        for (; j < row.Length; j++)
        {
            double delta = Unsafe.Add(ref x, j) - Unsafe.Add(ref m, j);
            Unsafe.Add(ref v, j) += delta * delta;
        }
    }

    /// <summary>
    /// z = (x − mean) · (1 / scale) for one row, in float32, the same for every caller (vector lanes
    /// compute exactly the scalar formula). Compiled optimised from its first call: every single
    /// score runs it, and at tier 0 it took ~5 µs of a ~20 µs score.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal void Apply(ReadOnlySpan<float> row, Span<float> target)
    {
        int n = _mean.Length;
        row = row[..n];
        target = target[..n];
        ref float x = ref MemoryMarshal.GetReference(row);
        ref float z = ref MemoryMarshal.GetReference(target);
        ref float mean = ref MemoryMarshal.GetArrayDataReference(_mean);
        ref float inverse = ref MemoryMarshal.GetArrayDataReference(_inverseScale);
        int j = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; j <= n - Vector<float>.Count; j += Vector<float>.Count)
            {
                ((Vector.LoadUnsafe(ref x, (nuint)j) - Vector.LoadUnsafe(ref mean, (nuint)j)) * Vector.LoadUnsafe(ref inverse, (nuint)j)).StoreUnsafe(ref z, (nuint)j);
            }
        }

        for (; j < n; j++)
        {
            Unsafe.Add(ref z, j) = (Unsafe.Add(ref x, j) - Unsafe.Add(ref mean, j)) * Unsafe.Add(ref inverse, j);
        }
    }

    /// <summary>Standardizes many row-major rows into a new array.</summary>
    internal float[] ApplyAll(ReadOnlySpan<float> rows)
    {
        int d = Dimension;
        float[] result = new float[rows.Length];
        for (int start = 0; start < rows.Length; start += d)
        {
            Apply(rows.Slice(start, d), result.AsSpan(start, d));
        }

        return result;
    }

    /// <summary>x = z · scale + mean: maps a reconstruction back to the input's scale.</summary>
    internal void Invert(Span<float> values)
    {
        for (int j = 0; j < _mean.Length; j++)
        {
            values[j] = (values[j] * _scale[j]) + _mean[j];
        }
    }

    /// <summary>True when both hold bit-identical means and scales.</summary>
    /// <param name="other">The standardizer to compare with.</param>
    /// <returns>Whether they are equal bit for bit.</returns>
    public bool BitwiseEquals(InputStandardizer? other) =>
        other is not null
        && System.Runtime.InteropServices.MemoryMarshal.Cast<float, int>(_mean.AsSpan()).SequenceEqual(System.Runtime.InteropServices.MemoryMarshal.Cast<float, int>(other._mean.AsSpan()))
        && System.Runtime.InteropServices.MemoryMarshal.Cast<float, int>(_scale.AsSpan()).SequenceEqual(System.Runtime.InteropServices.MemoryMarshal.Cast<float, int>(other._scale.AsSpan()));

    /// <summary>The mean and scale as arrays (the checkpoint writes them).</summary>
    internal (float[] Mean, float[] Scale) Arrays => (_mean, _scale);
}
