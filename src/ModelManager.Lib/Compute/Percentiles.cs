namespace AgeGroupAnomaly.Compute;

/// <summary>The original service's percentile rule and the rank of a value among sorted errors.</summary>
internal static class Percentiles
{
    /// <summary>
    /// The original's rule: <c>sorted[min(floor(p/100 · n), n − 1)]</c>, no interpolation.
    /// </summary>
    /// <param name="sortedAscending">Values sorted ascending (not empty).</param>
    /// <param name="percent">Percentile in (0, 100].</param>
    /// <returns>The chosen element.</returns>
    public static double ByIndexRule(ReadOnlySpan<double> sortedAscending, double percent)
    {
        if (sortedAscending.IsEmpty)
        {
            throw new ArgumentException("There are no values to take a percentile of.", nameof(sortedAscending));
        }

        if (!(percent > 0 && percent <= 100))
        {
            throw new ArgumentOutOfRangeException(nameof(percent), percent, $"percent is {percent}; it must lie in (0, 100].");
        }

        int n = sortedAscending.Length;
        int index = (int)Math.Min(Math.Floor(percent / 100 * n), n - 1);
        return sortedAscending[index];
    }

    /// <summary>
    /// Percentage (0–100) of the sorted values that are strictly below <paramref name="value"/>,
    /// counting ties as half (the usual mid-rank definition).
    /// </summary>
    /// <param name="sortedAscending">Values sorted ascending.</param>
    /// <param name="value">The value to rank.</param>
    /// <returns>The rank in percent; 0 when there are no values.</returns>
    public static double RankOf(ReadOnlySpan<double> sortedAscending, double value)
    {
        if (sortedAscending.IsEmpty)
        {
            return 0;
        }

        int below = LowerBound(sortedAscending, value);
        int notAbove = UpperBound(sortedAscending, value);
        return 100.0 * (below + (0.5 * (notAbove - below))) / sortedAscending.Length;
    }

    private static int LowerBound(ReadOnlySpan<double> sorted, double value)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid] < value)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    private static int UpperBound(ReadOnlySpan<double> sorted, double value)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid] <= value)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }
}
