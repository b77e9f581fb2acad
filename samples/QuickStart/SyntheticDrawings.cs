namespace QuickStart;

/// <summary>
/// Synthetic embeddings shaped like the real ones: 768 "visual" values plus a 64-slot one-hot
/// subject code. The visual part lies near a low-dimensional structure whose centre moves with
/// age along age-specific directions, so a drawing typical of age 10 looks unusual at age 4.
/// </summary>
internal sealed class SyntheticDrawings
{
    public const int VisualSize = 768;
    public const int SubjectSlots = 64;
    public const int Dimension = VisualSize + SubjectSlots;

    private const int StyleRank = 8;
    private readonly float[][] _ageDirections; // one direction per year 0..24
    private readonly float[][] _style;          // shared style directions
    private readonly Random _random;

    public SyntheticDrawings(int seed)
    {
        _random = new Random(seed);
        _ageDirections = [.. Enumerable.Range(0, 25).Select(_ => RandomUnitVector(VisualSize))];
        _style = [.. Enumerable.Range(0, StyleRank).Select(_ => RandomUnitVector(VisualSize))];
    }

    /// <summary>A typical drawing of a child of <paramref name="age"/> years.</summary>
    public float[] Typical(double age)
    {
        var e = new float[Dimension];
        for (int year = 0; year < _ageDirections.Length; year++)
        {
            // Smooth bumps: nearby years share directions, distant years do not.
            float weight = (float)(3.0 * Math.Exp(-Math.Pow(age - year, 2) / 2.0));
            if (weight > 1e-4f)
            {
                Add(e, _ageDirections[year], weight);
            }
        }

        foreach (float[] direction in _style)
        {
            Add(e, direction, (float)(Gaussian() * 0.8));
        }

        for (int i = 0; i < VisualSize; i++)
        {
            e[i] += (float)(Gaussian() * 0.02);
        }

        // Younger children favour the first subjects, older ones spread over more of them.
        int subjectRange = Math.Clamp(8 + (int)(age * 4), 8, SubjectSlots);
        e[VisualSize + _random.Next(subjectRange)] = 1f;
        return e;
    }

    /// <summary>Noise that lies on no drawing's structure at all.</summary>
    public float[] OffManifold()
    {
        var e = new float[Dimension];
        for (int i = 0; i < VisualSize; i++)
        {
            e[i] = (float)(Gaussian() * 0.12);
        }

        e[VisualSize + _random.Next(SubjectSlots)] = 1f;
        return e;
    }

    private float[] RandomUnitVector(int length)
    {
        float[] v = [.. Enumerable.Range(0, length).Select(_ => (float)Gaussian())];
        float norm = MathF.Sqrt(v.Sum(x => x * x));
        for (int i = 0; i < v.Length; i++)
        {
            v[i] /= norm;
        }

        return v;
    }

    private static void Add(float[] target, float[] direction, float weight)
    {
        for (int i = 0; i < direction.Length; i++)
        {
            target[i] += weight * direction[i];
        }
    }

    private double Gaussian() =>
        Math.Sqrt(-2 * Math.Log(1 - _random.NextDouble())) * Math.Cos(2 * Math.PI * _random.NextDouble());
}
