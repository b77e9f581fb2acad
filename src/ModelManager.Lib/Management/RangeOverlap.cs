using AgeGroupAnomaly.Storage;

namespace AgeGroupAnomaly.Management;

/// <summary>
/// Which active models a range would replace (exactly the same range) or overlap. Ranges that only
/// share a boundary age ([3, 5] and [5, 8]) do not overlap: the router gives that age to the older
/// group. Any other common age is an overlap.
/// </summary>
internal static class RangeOverlap
{
    public static ModelRecord? FirstOverlap(IEnumerable<ModelRecord> models, double ageMin, double ageMax, Guid? except = null) =>
        models.FirstOrDefault(m => m.IsActive && m.Id != except && Overlaps(m.AgeMin, m.AgeMax, ageMin, ageMax));

    public static IEnumerable<ModelRecord> Replaced(IEnumerable<ModelRecord> models, double ageMin, double ageMax, Guid except) =>
        models.Where(m => m.IsActive && m.Id != except && m.AgeMin == ageMin && m.AgeMax == ageMax);

    public static bool Overlaps(double aMin, double aMax, double bMin, double bMax)
    {
        if (aMin == bMin && aMax == bMax)
        {
            return false; // the same range: a replacement
        }

        double low = Math.Max(aMin, bMin), high = Math.Min(aMax, bMax);
        return low < high || (low == high && (aMin == aMax || bMin == bMax)); // one shared age is only a boundary between two real ranges
    }
}
