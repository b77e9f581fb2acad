using System.Globalization;

namespace AgeGroupAnomaly.Import;

/// <summary>
/// Where an imported PyTorch model's anomaly threshold comes from: the threshold the original
/// service stored for it, or the stored samples of its age range scored by the imported model.
/// </summary>
public sealed record PyTorchImportCalibration
{
    private PyTorchImportCalibration(double? threshold, double percentile)
    {
        Threshold = threshold;
        Percentile = percentile;
    }

    /// <summary>The threshold given, or null when the stored samples set it.</summary>
    public double? Threshold { get; }

    /// <summary>The percentile of the stored samples' errors that becomes the threshold (by the original's rule); unused with a given threshold.</summary>
    public double Percentile { get; }

    /// <summary>Whether the threshold comes from the stored samples of the age range.</summary>
    public bool UsesStoredSamples => Threshold is null;

    /// <summary>
    /// Keeps the original service's threshold for the model (its record's <c>threshold</c>). No
    /// sample is read, so a score's percentile rank only says whether its loss lies below (0), at
    /// (50) or above (100) the threshold; calibrate on stored samples for full ranks.
    /// </summary>
    /// <param name="threshold">The threshold: finite and at least 0.</param>
    /// <returns>The calibration.</returns>
    public static PyTorchImportCalibration FromThreshold(double threshold)
    {
        if (!(double.IsFinite(threshold) && threshold >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, string.Create(CultureInfo.InvariantCulture, $"threshold is {threshold}; it must be a finite number of at least 0."));
        }

        return new PyTorchImportCalibration(threshold, 95);
    }

    /// <summary>
    /// Scores every stored sample of the age range with the imported model and takes the
    /// <paramref name="percentile"/> of their errors as the threshold, exactly as training does
    /// (<c>sorted[min(floor(p/100 · n), n − 1)]</c>); the errors also give percentile ranks.
    /// </summary>
    /// <param name="percentile">In (0, 100]; the original service used 95.</param>
    /// <returns>The calibration.</returns>
    public static PyTorchImportCalibration FromStoredSamples(double percentile = 95)
    {
        if (!(percentile > 0 && percentile <= 100))
        {
            throw new ArgumentOutOfRangeException(nameof(percentile), percentile, string.Create(CultureInfo.InvariantCulture, $"percentile is {percentile}; it must lie in (0, 100]."));
        }

        return new PyTorchImportCalibration(null, percentile);
    }
}
