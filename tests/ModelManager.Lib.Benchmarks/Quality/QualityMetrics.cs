namespace AgeGroupAnomaly.Benchmarks.Quality;

/// <summary>The two numbers measured per group, the same way for every method.</summary>
internal static class QualityMetrics
{
    /// <summary>
    /// ROC-AUC of "anomalies score higher than normal rows" by the Mann-Whitney statistic: the
    /// fraction of (anomaly, normal) pairs ordered right, a tie counting half. A non-finite score
    /// ranks below every finite one (a broken model earns no credit).
    /// </summary>
    public static double RocAuc(IReadOnlyList<double> scores, IReadOnlyList<bool> isAnomaly)
    {
        int n = scores.Count;
        int[] order = [.. Enumerable.Range(0, n).OrderBy(i => Key(scores[i]))];
        double anomalyRankSum = 0;
        long anomalies = 0;
        for (int start = 0; start < n;)
        {
            int end = start;
            while (end + 1 < n && Key(scores[order[end + 1]]) == Key(scores[order[start]]))
            {
                end++;
            }

            double averageRank = ((start + 1) + (end + 1)) / 2.0; // 1-based ranks, ties averaged
            for (int k = start; k <= end; k++)
            {
                if (isAnomaly[order[k]])
                {
                    anomalyRankSum += averageRank;
                    anomalies++;
                }
            }

            start = end + 1;
        }

        long normals = n - anomalies;
        if (anomalies == 0 || normals == 0)
        {
            throw new ArgumentException("ROC-AUC needs at least one anomaly and one normal row.", nameof(isAnomaly));
        }

        return (anomalyRankSum - (anomalies * (anomalies + 1) / 2.0)) / (anomalies * (double)normals);
    }

    /// <summary>Fraction of the normal rows whose score lies strictly above the threshold (the library's IsAnomaly rule).</summary>
    public static double FalseAlarmRate(IReadOnlyList<double> scores, IReadOnlyList<bool> isAnomaly, double threshold)
    {
        int normals = 0, alarms = 0;
        for (int i = 0; i < scores.Count; i++)
        {
            if (!isAnomaly[i])
            {
                normals++;
                alarms += scores[i] > threshold ? 1 : 0;
            }
        }

        return alarms / (double)normals;
    }

    /// <summary>The library's percentile rule: sorted[min(floor(p/100·n), n−1)], no interpolation.</summary>
    public static double Percentile(IEnumerable<double> values, double percentile)
    {
        double[] sorted = [.. values.Order()];
        int index = Math.Min((int)Math.Floor(percentile / 100 * sorted.Length), sorted.Length - 1);
        return sorted[index];
    }

    private static double Key(double score) => double.IsFinite(score) ? score : double.NegativeInfinity;
}
