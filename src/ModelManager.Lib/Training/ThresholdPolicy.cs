namespace AgeGroupAnomaly.Training;

/// <summary>How the anomaly threshold was chosen.</summary>
/// <param name="Percentile">Percentile of the per-sample errors.</param>
/// <param name="Rule">The percentile rule.</param>
/// <param name="CalibrationSet">Which rows the errors came from.</param>
public sealed record ThresholdPolicy(double Percentile, string Rule, string CalibrationSet)
{
    /// <summary>The policy this library applies: the original service's rule on all training-run rows.</summary>
    /// <param name="percentile">The configured percentile.</param>
    /// <returns>The policy.</returns>
    public static ThresholdPolicy ForPercentile(double percentile) =>
        new(percentile, "sorted[min(floor(p/100*n), n-1)]", "train+validation (training rows included, as in the original service)");
}
