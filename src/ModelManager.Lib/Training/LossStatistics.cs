using AgeGroupAnomaly.Compute;
using System.Collections.Immutable;
using MathNet.Numerics.Statistics;

namespace AgeGroupAnomaly.Training;

/// <summary>
/// Statistics of per-sample reconstruction losses (the mean squared error over the dimensions of
/// each sample, the ReconstructionLoss a score reports), and the sorted
/// losses themselves so later scores can be ranked against them.
/// </summary>
/// <param name="Count">Number of samples.</param>
/// <param name="MseLoss">Mean squared error over all samples and dimensions.</param>
/// <param name="Mean">Mean of the per-sample losss.</param>
/// <param name="Std">Sample standard deviation (n − 1) of the per-sample losss; 0 for one sample.</param>
/// <param name="Min">Smallest per-sample loss.</param>
/// <param name="Max">Largest per-sample loss.</param>
/// <param name="Percentile95">95th percentile by the original's index rule.</param>
/// <param name="Percentile99">99th percentile by the original's index rule.</param>
/// <param name="SortedLosses">Every per-sample loss, ascending.</param>
public sealed record LossStatistics(
    int Count,
    double MseLoss,
    double Mean,
    double Std,
    double Min,
    double Max,
    double Percentile95,
    double Percentile99,
    [property: System.Text.Json.Serialization.JsonPropertyName("SortedErrors")] ImmutableArray<double> SortedLosses)
{
    /// <summary>Computes the statistics of the given per-sample losss.</summary>
    /// <param name="perSampleLosses">One error per sample (not empty, all finite).</param>
    /// <returns>The statistics.</returns>
    public static LossStatistics FromLosses(IReadOnlyCollection<double> perSampleLosses)
    {
        ArgumentNullException.ThrowIfNull(perSampleLosses);
        if (perSampleLosses.Count == 0)
        {
            throw new ArgumentException("There are no losses to summarise.", nameof(perSampleLosses));
        }

        double[] sorted = [.. perSampleLosses];
        Array.Sort(sorted);
        double mean = sorted.Mean();
        return new LossStatistics(
            sorted.Length,
            MseLoss: mean, // every sample has the same dimension, so the overall MSE is the mean of the per-sample MSEs
            Mean: mean,
            Std: sorted.Length > 1 ? sorted.StandardDeviation() : 0,
            Min: sorted[0],
            Max: sorted[^1],
            Percentile95: Percentiles.ByIndexRule(sorted, 95),
            Percentile99: Percentiles.ByIndexRule(sorted, 99),
            SortedLosses: ImmutableArray.Create(sorted));
    }

    /// <summary>The loss at a percentile by the original's index rule.</summary>
    /// <param name="percent">In (0, 100].</param>
    /// <returns>The error.</returns>
    public double Percentile(double percent) => Percentiles.ByIndexRule(SortedLosses.AsSpan(), percent);

    /// <summary>Percentile rank (0–100) of an error among these errors.</summary>
    /// <param name="error">The error to rank.</param>
    /// <returns>The rank.</returns>
    public double RankOf(double error) => Percentiles.RankOf(SortedLosses.AsSpan(), error);
}
