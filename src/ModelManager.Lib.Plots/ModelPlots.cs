using System.Globalization;
using AgeGroupAnomaly.Training;
using ScottPlot;

namespace AgeGroupAnomaly.Plots;

/// <summary>
/// Renders a model's figures as PNG files, headless (ScottPlot on SkiaSharp, with the DejaVu Sans
/// font carried inside this package, so text shows on machines with no fonts installed). Each file
/// is written to a temporary name and renamed, so a failure never leaves half an image.
/// </summary>
public static class ModelPlots
{
    private static readonly Color TrainColor = Color.FromHex("#1f77b4");
    private static readonly Color ValidationColor = Color.FromHex("#ff7f0e");
    private static readonly Color BestColor = Color.FromHex("#2ca02c");
    private static readonly Color RateColor = Color.FromHex("#7f7f7f");
    private static readonly Color BelowColor = Color.FromHex("#4c72b0");
    private static readonly Color AboveColor = Color.FromHex("#d62728");

    private const string ErrorAxis = "reconstruction error (per-sample mean squared error)";

    /// <summary>File name of the training curves in a report folder.</summary>
    public const string TrainingCurvesFileName = "training-curves.png";

    /// <summary>File name of the calibration error histogram in a report folder.</summary>
    public const string CalibrationErrorsFileName = "calibration-errors.png";

    /// <summary>File name of the score distribution in a report folder.</summary>
    public const string ScoreDistributionFileName = "score-distribution.png";

    /// <summary>
    /// Writes the training and validation loss per epoch, with the best epoch and every learning-rate
    /// drop marked.
    /// </summary>
    /// <param name="model">The model (its <see cref="ModelInfo.Training"/> history is drawn).</param>
    /// <param name="path">The PNG file to write (replaced if it exists).</param>
    /// <param name="options">Size; null for the defaults.</param>
    /// <exception cref="ArgumentException">The model has no training history (an imported model has none).</exception>
    public static void WriteTrainingCurves(ModelInfo model, string path, ModelPlotOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(path);
        options = Checked(options);
        TrainingSummary training = model.Training;
        if (training.History.IsDefaultOrEmpty)
        {
            throw new ArgumentException($"Model {model.Id} has no training history to draw (it was not trained by this library, or its record predates the history).", nameof(model));
        }

        using Plot plot = NewPlot($"Training curves · ages {Range(model)} · model {ShortId(model.Id)}", "epoch", "loss (mean squared error)");
        EpochRecord[] epochs = [.. training.History];
        AddLine(plot, epochs, e => e.TrainLoss, TrainColor, "train loss");
        AddLine(plot, epochs, e => e.ValidationLoss, ValidationColor, "validation loss");

        // Drops are marked by dotted lines; the legend lists the rates (labels on the lines would cover the title).
        int[] drops = [.. Enumerable.Range(1, Math.Max(epochs.Length - 1, 0)).Where(i => epochs[i].LearningRate < epochs[i - 1].LearningRate)];
        foreach (int i in drops)
        {
            // The new rate applies from epoch i + 1 (1-based): the line sits between the two epochs.
            var drop = plot.Add.VerticalLine(epochs[i].Epoch - 0.5, 1, RateColor, LinePattern.Dotted);
            drop.LegendText = i == drops[0]
                ? $"learning-rate drop ({string.Join(" → ", drops.Select(d => Number(epochs[d].LearningRate)).Prepend(Number(epochs[0].LearningRate)))})"
                : string.Empty;
        }

        EpochRecord? best = epochs.FirstOrDefault(e => e.Epoch == training.BestEpoch);
        if (best is not null)
        {
            var line = plot.Add.VerticalLine(best.Epoch, 1.5f, BestColor, LinePattern.Dashed);
            line.LegendText = $"best epoch {best.Epoch} (validation {Number(best.ValidationLoss)})";
            if (double.IsFinite(best.ValidationLoss))
            {
                var marker = plot.Add.Marker(best.Epoch, best.ValidationLoss, MarkerShape.FilledCircle, 9, BestColor);
                marker.LegendText = string.Empty;
            }
        }

        plot.Axes.Bottom.Label.Text = $"epoch ({epochs.Length} trained, stopped by {training.StopReason})";
        Save(plot, path, options);
    }

    /// <summary>
    /// Writes the histogram of the per-sample errors the threshold was calibrated on, bars above the
    /// threshold in red and the threshold as a vertical line.
    /// </summary>
    /// <param name="model">The model (its stored calibration errors and threshold are drawn).</param>
    /// <param name="path">The PNG file to write (replaced if it exists).</param>
    /// <param name="options">Size and bins; null for the defaults.</param>
    /// <exception cref="ArgumentException">The model's record holds no calibration errors (a model imported with a given threshold).</exception>
    public static void WriteCalibrationErrors(ModelInfo model, string path, ModelPlotOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(path);
        options = Checked(options);
        (LossStatistics statistics, string set) = CalibrationSet(model.Training);
        if (!HasCalibrationErrors(model))
        {
            throw new ArgumentException($"Model {model.Id} holds no calibration errors to draw (a model imported with a given threshold has none).", nameof(model));
        }

        using Plot plot = NewPlot(
            $"Calibration errors · ages {Range(model)} · {statistics.Count} samples ({set})",
            ErrorAxis,
            "samples");
        double percentile = model.Training.ThresholdPolicy.Percentile;
        AddHistogram(plot, [.. statistics.SortedLosses], model.Threshold, options.Bins, ErrorAxis, double.IsFinite(percentile)
            ? $"threshold {Number(model.Threshold)} (percentile {percentile.ToString("0.##", CultureInfo.InvariantCulture)})"
            : $"threshold {Number(model.Threshold)}");
        Save(plot, path, options);
    }

    /// <summary>
    /// Writes the histogram of a batch's reconstruction errors under one model against its threshold,
    /// with how many lie above it.
    /// </summary>
    /// <param name="model">The model the batch was scored with.</param>
    /// <param name="losses">The batch's reconstruction errors under that model (for example from <see cref="ModelManager.ComputeReconstructionLossesAsync"/>).</param>
    /// <param name="path">The PNG file to write (replaced if it exists).</param>
    /// <param name="options">Size and bins; null for the defaults.</param>
    /// <exception cref="ArgumentException">The batch is empty or holds a NaN, infinite or negative error.</exception>
    public static void WriteScoreDistribution(ModelInfo model, IReadOnlyList<double> losses, string path, ModelPlotOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(losses);
        ArgumentException.ThrowIfNullOrEmpty(path);
        options = Checked(options);
        if (losses.Count == 0)
        {
            throw new ArgumentException("The batch is empty: there is no score distribution to draw.", nameof(losses));
        }

        for (int i = 0; i < losses.Count; i++)
        {
            if (!double.IsFinite(losses[i]) || losses[i] < 0)
            {
                throw new ArgumentException($"Error {i} of the batch is {losses[i]}; reconstruction errors are finite and >= 0.", nameof(losses));
            }
        }

        int above = losses.Count(l => l > model.Threshold);
        using Plot plot = NewPlot(
            $"Scores · ages {Range(model)} · {above} of {losses.Count} above the threshold ({Percent(above, losses.Count)})",
            ErrorAxis,
            "embeddings");
        AddHistogram(plot, [.. losses], model.Threshold, options.Bins, ErrorAxis, $"threshold {Number(model.Threshold)}");
        Save(plot, path, options);
    }

    /// <summary>
    /// Writes a model's report into a folder: <see cref="TrainingCurvesFileName"/> (when the model has
    /// a training history), <see cref="CalibrationErrorsFileName"/> (when it holds calibration errors;
    /// a model imported with a given threshold holds none), and <see cref="ScoreDistributionFileName"/>
    /// when a batch's errors are given.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="directory">The folder (created if missing).</param>
    /// <param name="batchLosses">A batch's reconstruction errors under this model; null for no score distribution.</param>
    /// <param name="options">Size and bins; null for the defaults.</param>
    /// <returns>The files written.</returns>
    public static ModelReport WriteReport(ModelInfo model, string directory, IReadOnlyList<double>? batchLosses = null, ModelPlotOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        options = Checked(options);
        Directory.CreateDirectory(directory);

        string? curves = null;
        if (!model.Training.History.IsDefaultOrEmpty)
        {
            curves = Path.Combine(directory, TrainingCurvesFileName);
            WriteTrainingCurves(model, curves, options);
        }

        string? calibration = null;
        if (HasCalibrationErrors(model))
        {
            calibration = Path.Combine(directory, CalibrationErrorsFileName);
            WriteCalibrationErrors(model, calibration, options);
        }

        string? scores = null;
        if (batchLosses is not null)
        {
            scores = Path.Combine(directory, ScoreDistributionFileName);
            WriteScoreDistribution(model, batchLosses, scores, options);
        }

        return new ModelReport(model.Id, curves, calibration, scores);
    }

    /// <summary>
    /// Whether the record holds errors the threshold was taken from: a model imported with the
    /// original's threshold stores only that one value (and no percentile), which is no distribution.
    /// </summary>
    private static bool HasCalibrationErrors(ModelInfo model) =>
        CalibrationSet(model.Training).Statistics is { SortedLosses.IsDefaultOrEmpty: false } statistics
        && (statistics.Count > 1 || double.IsFinite(model.Training.ThresholdPolicy.Percentile));

    /// <summary>The errors the threshold was taken from, as the stored policy names them.</summary>
    private static (LossStatistics Statistics, string Name) CalibrationSet(TrainingSummary training) =>
        training.ThresholdPolicy.CalibrationSet.StartsWith("validation", StringComparison.OrdinalIgnoreCase)
            ? (training.ValidationMetrics, "validation rows")
            : (training.Metrics, "training and validation rows");

    private static ModelPlotOptions Checked(ModelPlotOptions? options)
    {
        options ??= new ModelPlotOptions();
        options.Validate();
        return options;
    }

    private static Plot NewPlot(string title, string xLabel, string yLabel)
    {
        EmbeddedFont.EnsureRegistered();
        var plot = new Plot();
        plot.Title(title, 15);
        plot.XLabel(xLabel, 13);
        plot.YLabel(yLabel, 13);

        // Set after the labels exist: every text of the plot (title, labels, ticks, legend) asks for the embedded family.
        plot.Font.Set(EmbeddedFont.Family);
        plot.Legend.FontName = EmbeddedFont.Family;
        plot.Legend.FontSize = 12;
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    private static void AddLine(Plot plot, EpochRecord[] epochs, Func<EpochRecord, double> value, Color color, string label)
    {
        EpochRecord[] finite = [.. epochs.Where(e => double.IsFinite(value(e)))];
        if (finite.Length == 0)
        {
            return;
        }

        var line = plot.Add.Scatter(finite.Select(e => (double)e.Epoch).ToArray(), finite.Select(value).ToArray(), color);
        line.LegendText = label;
        line.LineWidth = 2;
        line.MarkerSize = finite.Length <= 40 ? 4 : 0;
    }

    /// <summary>
    /// Bars of the values, red right of the threshold. Errors spread over more than two decades
    /// (a few far-off embeddings) are binned on a log10 axis, so the bulk does not shrink into one bar.
    /// </summary>
    private static void AddHistogram(Plot plot, double[] values, double threshold, int bins, string xLabel, string thresholdLabel)
    {
        double smallestPositive = values.Where(v => v > 0).DefaultIfEmpty(0).Min();
        bool logarithmic = smallestPositive > 0 && Math.Max(values.Max(), threshold) / Median(values.Where(v => v > 0)) > 100;
        Func<double, double> axis = logarithmic ? v => Math.Log10(Math.Max(v, smallestPositive)) : v => v;

        double[] positions = [.. values.Select(axis)];
        double cut = axis(threshold);
        double min = Math.Min(positions.Min(), cut);
        double max = Math.Max(positions.Max(), cut);
        if (max <= min)
        {
            max = min + Math.Max(Math.Abs(min) * 0.1, 1e-12); // every value equal: one visible bar
        }

        // Bin edges are laid from the threshold outwards, so no bar straddles it and its colour is exact.
        double width = (max - min) / bins;
        min = cut - (Math.Ceiling((cut - min) / width) * width);
        bins = Math.Max(1, (int)Math.Ceiling((max - min) / width - 1e-9));
        double[] counts = new double[bins];
        foreach (double p in positions)
        {
            // Bins are closed on the right, (low, high]: an error equal to the threshold is not flagged, nor is its bar red.
            counts[Math.Clamp((int)Math.Ceiling((p - min) / width) - 1, 0, bins - 1)]++;
        }

        var below = new List<Bar>();
        var above = new List<Bar>();
        for (int b = 0; b < bins; b++)
        {
            double center = min + ((b + 0.5) * width);
            bool isAbove = center > cut;
            var bar = new Bar
            {
                Position = center,
                Value = counts[b],
                Size = width * 0.95,
                LineWidth = 0,
                FillColor = isAbove ? AboveColor : BelowColor,
            };
            (isAbove ? above : below).Add(bar);
        }

        if (below.Count > 0)
        {
            plot.Add.Bars(below).LegendText = "at or below the threshold";
        }

        if (above.Count > 0)
        {
            plot.Add.Bars(above).LegendText = "above the threshold";
        }

        if (logarithmic)
        {
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
            {
                LabelFormatter = v => Number(Math.Pow(10, v)),
                MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
                IntegerTicksOnly = true,
            };
            xLabel += ", log scale";
        }

        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true }; // counts
        plot.Axes.Bottom.Label.Text = xLabel;
        plot.Axes.Margins(bottom: 0);
        plot.Add.VerticalLine(cut, 2, AboveColor, LinePattern.Dashed).LegendText = thresholdLabel;
    }

    private static double Median(IEnumerable<double> values)
    {
        double[] sorted = [.. values.Order()];
        return sorted.Length == 0 ? 1 : sorted[sorted.Length / 2];
    }

    private static void Save(Plot plot, string path, ModelPlotOptions options)
    {
        byte[] png = plot.GetImageBytes(options.Width, options.Height, ImageFormat.Png);
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string temporary = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            File.WriteAllBytes(temporary, png);
            File.Move(temporary, full, overwrite: true);
        }
        finally
        {
            File.Delete(temporary); // only left when the move failed
        }
    }

    private static string Range(ModelInfo model) =>
        $"{model.AgeMin.ToString("0.##", CultureInfo.InvariantCulture)}–{model.AgeMax.ToString("0.##", CultureInfo.InvariantCulture)}";

    private static string ShortId(Guid id) => id.ToString("N")[..8];

    private static string Number(double value) => value.ToString("G3", CultureInfo.InvariantCulture);

    private static string Percent(int part, int whole) => (100.0 * part / whole).ToString("0.#", CultureInfo.InvariantCulture) + " %";
}
