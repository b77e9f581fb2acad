using System.Globalization;
using AgeGroupAnomaly.Compute;

namespace AgeGroupAnomaly.Training;

/// <summary>How a model's anomaly threshold was chosen: the percentile, the rank rule and the rows it was calibrated on.</summary>
/// <param name="Percentile">Percentile of the calibration losses, in (0, 100].</param>
/// <param name="Rule">The rank rule, as text.</param>
/// <param name="CalibrationSet">Which rows the losses came from, as text.</param>
public sealed record ThresholdPolicy(double Percentile, string Rule, string CalibrationSet)
{
    private const string OriginalRule = "sorted[min(floor(p/100*n), n-1)]";
    private const string ConformalRule = "sorted[ceil((n+1)*p/100) - 1] when that rank is at most n, else max(sorted[n-1], exp(m + t(n-1, p/100) * s * sqrt(1 + 1/n))) with m, s the mean and std of the log losses";

    /// <summary>The rows the threshold was calibrated on (records written before this field existed used every row).</summary>
    /// <value>The default is <see cref="ThresholdCalibration.TrainingAndValidationRows"/>.</value>
    public ThresholdCalibration Calibration { get; init; } = ThresholdCalibration.TrainingAndValidationRows;

    /// <summary>How many losses the threshold was chosen from (0 when a record does not say).</summary>
    public int CalibrationCount { get; init; }

    /// <summary>
    /// The false-alarm rate on new normal rows this policy aims at: 1 − p / 100 (for
    /// <see cref="ThresholdCalibration.ValidationRows"/> the expected rate lies between that minus
    /// 1 / (n + 1) and that).
    /// </summary>
    public double NominalFalseAlarmRate => 1 - (Percentile / 100);

    /// <summary>The original service's policy: its rank rule on the losses of all rows of the training run.</summary>
    /// <param name="percentile">The configured percentile.</param>
    /// <returns>The policy.</returns>
    public static ThresholdPolicy ForPercentile(double percentile) =>
        new(percentile, OriginalRule, "train+validation (training rows included, as in the original service)");

    /// <summary>The policy for a percentile calibrated on the given rows.</summary>
    /// <param name="percentile">In (0, 100].</param>
    /// <param name="calibration">The rows to calibrate on.</param>
    /// <param name="count">How many calibration losses there are.</param>
    /// <returns>The policy.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The percentile is outside (0, 100] or the calibration is unknown.</exception>
    public static ThresholdPolicy For(double percentile, ThresholdCalibration calibration, int count)
    {
        if (!(percentile > 0 && percentile <= 100))
        {
            throw new ArgumentOutOfRangeException(nameof(percentile), percentile, string.Create(CultureInfo.InvariantCulture, $"The threshold percentile is {percentile}; it must lie in (0, 100]."));
        }

        return calibration switch
        {
            ThresholdCalibration.TrainingAndValidationRows => ForPercentile(percentile) with { CalibrationCount = count },
            ThresholdCalibration.ValidationRows => new ThresholdPolicy(percentile, ConformalRule, "validation rows (held out from fitting)")
            {
                Calibration = calibration,
                CalibrationCount = count,
            },
            _ => throw new ArgumentOutOfRangeException(nameof(calibration), calibration, $"Unknown threshold calibration {calibration}."),
        };
    }

    /// <summary>The losses this policy calibrates on, out of a training run's statistics.</summary>
    /// <param name="summary">The training run.</param>
    /// <returns><see cref="TrainingSummary.ValidationMetrics"/> or <see cref="TrainingSummary.Metrics"/>.</returns>
    public LossStatistics CalibrationLosses(TrainingSummary summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        return Select(Calibration, summary.Metrics, summary.ValidationMetrics);
    }

    /// <summary>The losses of the given rows: the validation rows' or every row's.</summary>
    internal static LossStatistics Select(ThresholdCalibration rows, LossStatistics allRows, LossStatistics validationRows) =>
        rows == ThresholdCalibration.ValidationRows ? validationRows : allRows;

    /// <summary>The threshold this policy gives for these calibration losses.</summary>
    /// <param name="calibrationLosses">The losses (not empty).</param>
    /// <returns>The threshold.</returns>
    public double ThresholdFrom(LossStatistics calibrationLosses)
    {
        ArgumentNullException.ThrowIfNull(calibrationLosses);
        ReadOnlySpan<double> sorted = calibrationLosses.SortedLosses.AsSpan();
        if (Calibration != ThresholdCalibration.ValidationRows)
        {
            return Percentiles.ByIndexRule(sorted, Percentile);
        }

        int n = sorted.Length;
        if (n == 0)
        {
            throw new ArgumentException("There are no calibration losses to choose a threshold from.", nameof(calibrationLosses));
        }

        double rank = Math.Ceiling(((n + 1) * Percentile / 100) - 1e-9); // 20 * 95 / 100 must stay 19, not become 19.000000000000004
        if (rank <= n)
        {
            return sorted[(int)Math.Max(rank, 1) - 1];
        }

        // Too few rows for this percentile (fewer than 19 at 95): the rank rule would need a loss above
        // the largest. Take the upper prediction bound of a log-normal fitted to the losses instead
        // (Student's t, so few rows widen it), never below the largest loss.
        return Math.Max(sorted[^1], LogNormalPredictionBound(sorted, Percentile / 100));
    }

    private static double LogNormalPredictionBound(ReadOnlySpan<double> losses, double probability)
    {
        if (losses.Length < 2 || losses[0] <= 0 || probability >= 1)
        {
            return losses[^1];
        }

        double[] logs = new double[losses.Length];
        for (int i = 0; i < logs.Length; i++)
        {
            logs[i] = Math.Log(losses[i]);
        }

        double mean = logs.Average();
        double std = MathNet.Numerics.Statistics.Statistics.StandardDeviation(logs);
        double t = MathNet.Numerics.Distributions.StudentT.InvCDF(0, 1, logs.Length - 1, probability);
        double bound = Math.Exp(mean + (t * std * Math.Sqrt(1 + (1.0 / logs.Length))));
        return double.IsFinite(bound) ? bound : losses[^1];
    }
}
