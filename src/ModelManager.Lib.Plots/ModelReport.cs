namespace AgeGroupAnomaly.Plots;

/// <summary>The PNG files <see cref="ModelPlots.WriteReport"/> wrote for one model.</summary>
/// <param name="ModelId">The model.</param>
/// <param name="TrainingCurves">Train and validation loss per epoch; null when the model has no training history (an imported model).</param>
/// <param name="CalibrationErrors">The calibration errors and the threshold; null when the model holds none (imported with a given threshold).</param>
/// <param name="ScoreDistribution">The batch's losses against the threshold; null when no batch was given.</param>
public sealed record ModelReport(Guid ModelId, string? TrainingCurves, string? CalibrationErrors, string? ScoreDistribution)
{
    /// <summary>Every file written, in the order above.</summary>
    public IReadOnlyList<string> Files => [.. new[] { TrainingCurves, CalibrationErrors, ScoreDistribution }.OfType<string>()];
}
