using System.Collections.Immutable;
using System.Globalization;
using AgeGroupAnomaly.Compute;
using AgeGroupAnomaly.Modeling;
using AgeGroupAnomaly.Training;

namespace AgeGroupAnomaly.Import;

/// <summary>
/// Describes an imported model the way a training describes its own, so it is stored, loaded and
/// scored like any other: the threshold and the calibration errors come from the same kernel,
/// statistics and percentile rule as training's (<see cref="LossStatistics"/>, <see cref="ThresholdPolicy"/>).
/// </summary>
internal static class ImportedModel
{
    /// <summary>Builds the result to record; <paramref name="samples"/> are read only when the calibration uses them.</summary>
    /// <param name="imported">The weights from the file.</param>
    /// <param name="calibration">Where the threshold comes from.</param>
    /// <param name="samples">The stored embeddings of the range (empty with a given threshold).</param>
    /// <param name="range">The age range, for messages.</param>
    public static TrainingResult Describe(ImportedStateDict imported, PyTorchImportCalibration calibration, IReadOnlyList<float[]> samples, string range)
    {
        ModelWeights weights = imported.Weights;
        ArchitectureInfo architecture = weights.Architecture;
        LossStatistics metrics;
        double threshold;
        ThresholdPolicy policy;
        if (calibration.Threshold is { } given)
        {
            // No errors to rank against: the threshold alone stands for them, so ranks say below, at or above it.
            metrics = LossStatistics.FromLosses([given]);
            threshold = given;
            policy = new ThresholdPolicy(double.NaN, "given at import: the original service's threshold", $"none: imported from PyTorch ({imported.Form}) with its threshold; percentile ranks only tell below (0), at (50) or above (100) it");
        }
        else
        {
            double[] errors = CalibrationErrors(weights, samples, range);
            // The original's rank rule on every row, as the original service calibrated: the stored samples are usually
            // the rows the PyTorch model was trained on, so the same samples give the original's threshold again.
            metrics = LossStatistics.FromLosses(errors);
            policy = ThresholdPolicy.For(calibration.Percentile, ThresholdCalibration.TrainingAndValidationRows, metrics.Count) with
            {
                CalibrationSet = string.Create(CultureInfo.InvariantCulture, $"the {samples.Count} stored samples in {range}, scored by the model imported from PyTorch ({imported.Form})"),
            };
            threshold = policy.ThresholdFrom(metrics);
        }

        return new TrainingResult
        {
            // Not trained here: no epochs, and the configuration is the original service's with the file's shape.
            Config = TrainingConfig.Original with
            {
                HiddenSizes = architecture.HiddenSizes,
                Dropout = architecture.Dropout,
                ThresholdPercentile = calibration.Percentile,
                ThresholdCalibration = ThresholdCalibration.TrainingAndValidationRows,
            },
            Architecture = architecture,
            History = ImmutableArray<EpochRecord>.Empty,
            StopReason = StopReason.MaxEpochs,
            BestEpoch = 0,
            BestValidationLoss = double.NaN,
            Metrics = metrics,
            ValidationMetrics = metrics, // the same rows: this library holds no split of them (RecalibrateAsync may pick either)
            ThresholdPolicy = policy,
            TrainCount = 0,
            ValidationCount = samples.Count,
            Threshold = threshold,
            Weights = weights,
            ValidationRowIndices = [],
        };
    }

    /// <summary>Per-sample errors with the managed kernel that scores later, so a stored sample scores exactly its calibration error.</summary>
    private static double[] CalibrationErrors(ModelWeights weights, IReadOnlyList<float[]> samples, string range)
    {
        int dimension = weights.Architecture.InputSize;
        if (samples.Count == 0)
        {
            throw new InsufficientSamplesException($"No samples have an age in {range}, so none can calibrate the imported model's threshold; add samples for this range or give the original threshold.", 0, 1);
        }

        var rows = new float[(long)samples.Count * dimension];
        for (int i = 0; i < samples.Count; i++)
        {
            if (samples[i].Length != dimension)
            {
                throw new InvalidEmbeddingException(string.Create(CultureInfo.InvariantCulture, $"Stored sample {i} of {range} has {samples[i].Length} values but the imported model takes {dimension}; calibrate on samples of the model's dimension."), i);
            }

            samples[i].CopyTo(rows, (long)i * dimension);
        }

        var errors = new double[samples.Count];
        new InferenceKernel(weights).ReconstructionLosses(rows, errors);
        int bad = Array.FindIndex(errors, e => !double.IsFinite(e));
        if (bad >= 0)
        {
            throw new ModelManagerException(string.Create(CultureInfo.InvariantCulture, $"The imported model reconstructs stored sample {bad} of {range} with error {errors[bad]}; refusing to keep a model with a non-finite calibration."));
        }

        return errors;
    }
}
