using System.Globalization;

namespace AgeGroupAnomaly.Benchmarks.Quality;

/// <summary>A labelled data set: each distinct label plays one age group.</summary>
internal sealed record QualityDataSet(string Name, int[] Labels, float[][] Rows)
{
    public int Dimension => Rows[0].Length;

    public int[] Groups => [.. Labels.Distinct().Order()];

    /// <summary>Reads a CSV written by export_datasets.py: a header, then label followed by the features.</summary>
    public static QualityDataSet Load(string path)
    {
        var labels = new List<int>();
        var rows = new List<float[]>();
        foreach (string line in File.ReadLines(path).Skip(1))
        {
            if (line.Length == 0)
            {
                continue;
            }

            string[] fields = line.Split(',');
            labels.Add(int.Parse(fields[0], CultureInfo.InvariantCulture));
            rows.Add([.. fields.Skip(1).Select(f => float.Parse(f, CultureInfo.InvariantCulture))]);
        }

        return new QualityDataSet(Path.GetFileNameWithoutExtension(path), [.. labels], [.. rows]);
    }
}

/// <summary>One group's rows for one seed: its training rows, then held-out normal rows followed by anomalies.</summary>
internal sealed record GroupSplit(int Group, int Seed, float[][] Train, float[][] Eval, bool[] EvalIsAnomaly)
{
    public int NormalCount => EvalIsAnomaly.Count(a => !a);

    public int AnomalyCount => EvalIsAnomaly.Count(a => a);
}

/// <summary>The benchmark's split rule, deterministic from the seed.</summary>
internal static class Splitter
{
    /// <summary>
    /// Per group: the group's rows shuffled by (seed, group), the first <paramref name="trainFraction"/>
    /// (rounded) for training, the rest held out as normal rows. Anomalies: rows of every other group,
    /// at most ceil(<paramref name="maxAnomalies"/> / (groups − 1)) from each, drawn by (seed, group, other).
    /// </summary>
    public static IReadOnlyList<GroupSplit> Split(QualityDataSet data, int seed, double trainFraction, int maxAnomalies, int[]? onlyGroups = null)
    {
        int[] groups = data.Groups;
        var byGroup = groups.ToDictionary(g => g, g => Enumerable.Range(0, data.Labels.Length).Where(i => data.Labels[i] == g).ToArray());
        int perOther = (int)Math.Ceiling(maxAnomalies / (double)Math.Max(1, groups.Length - 1));
        var splits = new List<GroupSplit>();
        foreach (int g in onlyGroups ?? groups)
        {
            int[] own = Shuffled(byGroup[g], Seeds(seed, g, -1));
            int trainCount = (int)Math.Round(own.Length * trainFraction, MidpointRounding.AwayFromZero);
            float[][] train = [.. own.Take(trainCount).Select(i => data.Rows[i])];
            var eval = new List<float[]>(own.Skip(trainCount).Select(i => data.Rows[i]));
            var isAnomaly = new List<bool>(Enumerable.Repeat(false, eval.Count));
            foreach (int other in groups.Where(h => h != g))
            {
                foreach (int i in Shuffled(byGroup[other], Seeds(seed, g, other)).Take(perOther))
                {
                    eval.Add(data.Rows[i]);
                    isAnomaly.Add(true);
                }
            }

            splits.Add(new GroupSplit(g, seed, train, [.. eval], [.. isAnomaly]));
        }

        return splits;
    }

    private static int Seeds(int seed, int group, int other) => unchecked((seed * 1_000_003) + (group * 10_007) + other + 17);

    private static int[] Shuffled(int[] indices, int seed)
    {
        int[] copy = [.. indices];
        new Random(seed).Shuffle(copy);
        return copy;
    }
}

/// <summary>How the benchmark rescales a group's rows before the library sees them (fitted on the group's training rows).</summary>
internal enum Scaling
{
    /// <summary>Raw values, as a user passes them today.</summary>
    None,

    /// <summary>Per feature: subtract the mean, divide by the standard deviation (a feature constant in training gets scale 1, as scikit-learn's StandardScaler does).</summary>
    PerFeature,

    /// <summary>
    /// As <see cref="PerFeature"/>, but no feature's scale below half the median of the features'
    /// standard deviations: a nearly constant feature (a rarely inked pixel, a rare one-hot slot) is
    /// not blown up.
    /// </summary>
    PerFeatureFloored,

    /// <summary>As <see cref="PerFeatureFloored"/> with the floor at the median feature std (the library's floor is half of it).</summary>
    PerFeatureFlooredAtMedian,

    /// <summary>As <see cref="PerFeatureFloored"/> with the floor at 1.5 × the median feature std.</summary>
    PerFeatureFlooredAtOneAndAHalfMedians,

    /// <summary>Per feature: subtract the mean; then divide every feature by one number, the root mean square of the features' standard deviations (relative scales kept).</summary>
    CentreGlobal,
}

/// <summary>A <see cref="Scaling"/> fitted on training rows.</summary>
internal sealed class Standardiser
{
    private readonly double[] _mean;
    private readonly double[] _scale;

    public Standardiser(IReadOnlyList<float[]> train, Scaling scaling)
    {
        int d = train[0].Length;
        _mean = new double[d];
        _scale = new double[d];
        foreach (float[] row in train)
        {
            for (int j = 0; j < d; j++)
            {
                _mean[j] += row[j];
            }
        }

        for (int j = 0; j < d; j++)
        {
            _mean[j] /= train.Count;
        }

        foreach (float[] row in train)
        {
            for (int j = 0; j < d; j++)
            {
                double delta = row[j] - _mean[j];
                _scale[j] += delta * delta;
            }
        }

        for (int j = 0; j < d; j++)
        {
            _scale[j] /= train.Count; // population variance, as StandardScaler
        }

        if (scaling == Scaling.CentreGlobal)
        {
            double rms = Math.Sqrt(_scale.Average());
            Array.Fill(_scale, rms < 1e-12 ? 1 : rms);
        }
        else
        {
            double floor = 0;
            double fraction = scaling switch
            {
                Scaling.PerFeatureFloored => 0.5,
                Scaling.PerFeatureFlooredAtMedian => 1.0,
                Scaling.PerFeatureFlooredAtOneAndAHalfMedians => 1.5,
                _ => 0,
            };
            if (fraction > 0)
            {
                double[] stds = [.. _scale.Select(Math.Sqrt).Order()];
                floor = fraction * (stds.Length % 2 == 1 ? stds[stds.Length / 2] : (stds[(stds.Length / 2) - 1] + stds[stds.Length / 2]) / 2);
            }

            for (int j = 0; j < d; j++)
            {
                double std = Math.Max(Math.Sqrt(_scale[j]), floor);
                _scale[j] = std < 1e-12 ? 1 : std;
            }
        }
    }

    public float[][] Apply(IReadOnlyList<float[]> rows) =>
        [.. rows.Select(row => row.Select((v, j) => (float)((v - _mean[j]) / _scale[j])).ToArray())];
}
