namespace AgeGroupAnomaly.Training;

/// <summary>Which rows' reconstruction losses a model's anomaly threshold is calibrated on.</summary>
public enum ThresholdCalibration
{
    /// <summary>
    /// The original service's rule: the percentile of the losses of every row of the training run,
    /// training rows included. The model has fitted those rows, so new normal rows exceed the
    /// threshold more often than the nominal rate (QuickStart measured 8–11 % at 95).
    /// </summary>
    TrainingAndValidationRows = 0,

    /// <summary>
    /// The held-out validation rows only, with the split-conformal rank ceil((n + 1) · p / 100): a new
    /// normal row from the same distribution exceeds the threshold with probability at most
    /// 1 − p / 100, and at least that minus 1 / (n + 1).
    /// </summary>
    ValidationRows = 1,
}
