namespace AgeGroupAnomaly.Management;

/// <summary>
/// Greedy planning over whole years: walk the years in order, extending the current group until it
/// holds enough samples or would exceed the maximum span; a group left short of samples joins the
/// previous group when the span allows, else it stays a group of its own marked as not having enough.
/// </summary>
internal static class AgeGroupPlanner
{
    public static IReadOnlyList<AgeGroupPlan> Plan(IReadOnlyList<double> ages, AgeGroupPlanOptions options)
    {
        if (options.MinSamples < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MinSamples, "MinSamples must be at least 1.");
        }

        if (options.MaxSpanYears < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxSpanYears, "MaxSpanYears must be at least 1.");
        }

        SortedDictionary<int, int> perYear = [];
        foreach (double age in ages)
        {
            // Stores refuse other ages; one stored by an older version or another tool cannot be
            // planned (an int cast of 1e300 would claim a group [2147483647, 2147483647]), so it is left out.
            if (!double.IsFinite(age) || age < 0 || age > Storage.NewSample.MaxAgeYears)
            {
                continue;
            }

            int year = (int)Math.Floor(age); // 0..150
            perYear[year] = perYear.GetValueOrDefault(year) + 1;
        }

        var groups = new List<(int Start, int End, int Count)>();
        (int Start, int End, int Count)? current = null;
        foreach ((int year, int count) in perYear)
        {
            if (current is { } c && (long)year - c.Start + 1 > options.MaxSpanYears)
            {
                CloseShort(groups, c, options.MaxSpanYears); // cannot grow further
                current = null;
            }

            current = current is { } open ? (open.Start, year, open.Count + count) : (year, year, count);
            if (current.Value.Count >= options.MinSamples)
            {
                groups.Add(current.Value);
                current = null;
            }
        }

        if (current is { } tail)
        {
            CloseShort(groups, tail, options.MaxSpanYears);
        }

        return [.. groups.Select(g => new AgeGroupPlan(g.Start, g.End, g.Count, g.Count >= options.MinSamples))];
    }

    /// <summary>A group short of samples joins the previous group when the span allows, else stands alone.</summary>
    private static void CloseShort(List<(int Start, int End, int Count)> groups, (int Start, int End, int Count) group, int maxSpan)
    {
        if (groups.Count > 0 && (long)group.End - groups[^1].Start + 1 <= maxSpan)
        {
            var last = groups[^1];
            groups[^1] = (last.Start, group.End, last.Count + group.Count);
        }
        else
        {
            groups.Add(group);
        }
    }
}
