using System.Collections.Immutable;
using System.Globalization;
using System.Text.RegularExpressions;

namespace AgeGroupAnomaly.Training;

/// <summary>
/// How to train one autoencoder. The optimiser defaults are those of the original service; the
/// hidden sizes are chosen from the input dimension and inputs are standardized per feature unless
/// set otherwise (<see cref="Original"/> reproduces the original service). <see cref="Validate"/>
/// names any field outside its allowed range.
/// </summary>
public sealed partial record TrainingConfig
{
    /// <summary>The smallest <see cref="ValidationSplit"/> accepted: one validation row per 1,000,000 rows.</summary>
    public const double MinValidationSplit = 1e-6;

    /// <summary>The defaults.</summary>
    public static TrainingConfig Default { get; } = new();

    /// <summary>
    /// The original Python service's configuration, for comparisons and migrations: hidden sizes
    /// [256, 128, 64, 32], raw (unstandardized) inputs, its absolute early-stopping rule and its
    /// threshold over every row of the run, with the same learning rate, batch, epochs, split,
    /// patience and min delta as <see cref="Default"/>.
    /// </summary>
    public static TrainingConfig Original { get; } = new()
    {
        HiddenSizes = [256, 128, 64, 32],
        Standardize = false,
        RelativeMinDelta = false,
        ThresholdCalibration = ThresholdCalibration.TrainingAndValidationRows,
    };

    /// <summary>
    /// Encoder layer widths; the last is the bottleneck. Empty means automatic: the trainer picks
    /// <see cref="AutomaticHiddenSizes"/> of the input dimension and records the result in the
    /// architecture.
    /// </summary>
    /// <value>The default is empty (automatic).</value>
    public ImmutableArray<int> HiddenSizes { get; init; } = [];

    /// <summary>
    /// Whether to standardize every feature before the autoencoder sees it: the trainer fits a
    /// per-feature mean and scale on the rows it is given (with a floor on the scale of half the
    /// median feature standard deviation, see <see cref="Modeling.InputStandardizer"/>), trains on
    /// the standardized rows, and stores the transform with the model, which scoring applies.
    /// Features on very different scales (visual values next to a one-hot code) then weigh alike.
    /// </summary>
    /// <value>The default is true.</value>
    public bool Standardize { get; init; } = true;

    /// <summary>Adam learning rate, in (0, 1].</summary>
    /// <value>The default is 0.001.</value>
    public double LearningRate { get; init; } = 0.001;

    /// <summary>Mini-batch size, at least 1.</summary>
    /// <value>The default is 32.</value>
    public int BatchSize { get; init; } = 32;

    /// <summary>Maximum number of epochs, at least 1.</summary>
    /// <value>The default is 100.</value>
    public int Epochs { get; init; } = 100;

    /// <summary>
    /// Fraction of rows held out for validation, in [<see cref="MinValidationSplit"/>, 1): at least
    /// one validation row must be possible with at most 1,000,000 rows.
    /// </summary>
    /// <value>The default is 0.2.</value>
    public double ValidationSplit { get; init; } = 0.2;

    /// <summary>Epochs without improvement before early stopping, at least 0.</summary>
    /// <value>The default is 10.</value>
    public int EarlyStoppingPatience { get; init; } = 10;

    /// <summary>
    /// Smallest decrease of the validation loss that counts as improvement, at least 0: a fraction
    /// of the best loss so far when <see cref="RelativeMinDelta"/> is true (the default), an
    /// absolute amount otherwise (the original service's rule).
    /// </summary>
    /// <value>The default is 1e-4.</value>
    public double MinDelta { get; init; } = 1e-4;

    /// <summary>
    /// Whether <see cref="MinDelta"/> is relative to the best validation loss. An absolute 1e-4
    /// stops every training early on embeddings whose losses are around 1e-3 (small-valued
    /// embeddings) while it never triggers on large-valued ones; a relative one works the same on
    /// any scale. <see cref="Original"/> sets it false, as the original service had it.
    /// </summary>
    /// <value>The default is true.</value>
    public bool RelativeMinDelta { get; init; } = true;

    /// <summary>"auto" (CUDA when TorchSharp reports it, else CPU), "cpu", "cuda" or "cuda:N".</summary>
    /// <value>The default is "auto".</value>
    public string Device { get; init; } = "auto";

    /// <summary>Dropout probability after each hidden ReLU, in [0, 1).</summary>
    /// <value>The default is 0.1.</value>
    public double Dropout { get; init; } = 0.1;

    /// <summary>Seed of the weight initialisation, the split, the batch order and dropout.</summary>
    /// <value>The default is 42.</value>
    public int Seed { get; init; } = 42;

    /// <summary>Percentile of the per-sample errors used as the anomaly threshold, in (0, 100].</summary>
    /// <value>The default is 95.</value>
    public double ThresholdPercentile { get; init; } = 95;

    /// <summary>
    /// Which rows the threshold is calibrated on. The default, the held-out validation rows, keeps
    /// the false-alarm rate on new normal rows at or just below 100 − <see cref="ThresholdPercentile"/>
    /// percent; the original service used every row, training rows included, which runs above it.
    /// </summary>
    /// <value>The default is <see cref="ThresholdCalibration.ValidationRows"/>.</value>
    public ThresholdCalibration ThresholdCalibration { get; init; } = ThresholdCalibration.ValidationRows;

    /// <summary>
    /// Threads a CPU training uses (the managed training engine splits each matrix product across
    /// them; results are the same for any count). Null uses every core and leaves TorchSharp's own
    /// thread setting alone; a value is also applied to TorchSharp for the duration of the training.
    /// </summary>
    /// <value>The default is null.</value>
    public int? CpuThreads { get; init; }

    /// <summary>
    /// The hidden sizes chosen when <see cref="HiddenSizes"/> is empty: [max(d / 2, 2), max(d / 4, 2)]
    /// for input dimension d below 512 (d / 2 and d / 4 rounded down), the original service's
    /// [256, 128, 64, 32] from 512 on. On small inputs the fixed sizes learn little beyond the group's
    /// mean; on 832-value embeddings a two-layer [256, 128] (or [256, 32]) encoder fits its training
    /// rows so closely that about 21 % of new normal rows exceed the threshold, against about 9 % with
    /// the original's four layers (QuickStart, both standardised).
    /// </summary>
    /// <param name="inputSize">The input dimension d, at least 1.</param>
    /// <returns>The two encoder widths.</returns>
    public static ImmutableArray<int> AutomaticHiddenSizes(int inputSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inputSize, 1);
        return inputSize >= 512 ? [256, 128, 64, 32] : [Math.Max(inputSize / 2, 2), Math.Max(inputSize / 4, 2)];
    }

    /// <summary>The hidden sizes a training on inputs of this dimension uses: <see cref="HiddenSizes"/>, or the automatic ones when it is empty.</summary>
    /// <param name="inputSize">The input dimension, at least 1.</param>
    /// <returns>The encoder widths.</returns>
    public ImmutableArray<int> ResolveHiddenSizes(int inputSize) =>
        HiddenSizes.IsDefaultOrEmpty ? AutomaticHiddenSizes(inputSize) : HiddenSizes;

    /// <summary>Throws <see cref="ArgumentException"/> (or a subclass) naming the first invalid field, its value and the allowed range.</summary>
    public void Validate()
    {
        // Empty hidden sizes are valid: they mean "choose from the input dimension".
        for (int i = 0; i < (HiddenSizes.IsDefault ? 0 : HiddenSizes.Length); i++)
        {
            if (HiddenSizes[i] < 1)
            {
                throw Range(nameof(HiddenSizes), HiddenSizes[i], "every hidden size must be at least 1", $"HiddenSizes[{i}]");
            }
        }

        if (!(LearningRate > 0 && LearningRate <= 1))
        {
            throw Range(nameof(LearningRate), LearningRate, "it must lie in (0, 1]");
        }

        if (BatchSize < 1)
        {
            throw Range(nameof(BatchSize), BatchSize, "it must be at least 1");
        }

        if (Epochs < 1)
        {
            throw Range(nameof(Epochs), Epochs, "it must be at least 1");
        }

        if (!(ValidationSplit >= MinValidationSplit && ValidationSplit < 1))
        {
            throw Range(nameof(ValidationSplit), ValidationSplit, "it must lie in [0.000001, 1) (a validation row must be possible with at most 1,000,000 rows)");
        }

        if (EarlyStoppingPatience < 0)
        {
            throw Range(nameof(EarlyStoppingPatience), EarlyStoppingPatience, "it must be at least 0");
        }

        if (!(MinDelta >= 0) || double.IsInfinity(MinDelta))
        {
            throw Range(nameof(MinDelta), MinDelta, "it must be a finite number of at least 0");
        }

        if (!(Dropout >= 0 && Dropout < 1))
        {
            throw Range(nameof(Dropout), Dropout, "it must lie in [0, 1)");
        }

        if (!(ThresholdPercentile > 0 && ThresholdPercentile <= 100))
        {
            throw Range(nameof(ThresholdPercentile), ThresholdPercentile, "it must lie in (0, 100]");
        }

        if (!Enum.IsDefined(ThresholdCalibration))
        {
            throw Range(nameof(ThresholdCalibration), ThresholdCalibration, "it must be ValidationRows or TrainingAndValidationRows");
        }

        if (CpuThreads is < 1)
        {
            throw Range(nameof(CpuThreads), CpuThreads.Value, "it must be at least 1, or null to use every core");
        }

        if (Device is null || !DevicePattern().IsMatch(Device))
        {
            throw new ArgumentException($"Device is '{Device}'; it must be \"auto\", \"cpu\", \"cuda\" or \"cuda:N\".", nameof(Device));
        }
    }

    /// <summary>
    /// The device to train on: "auto" becomes "cuda" when a CUDA build of libtorch is installed
    /// and reports a device, else "cpu" (without loading libtorch when no CUDA build is present).
    /// </summary>
    /// <returns>"cpu", "cuda" or "cuda:N".</returns>
    public string ResolveDevice()
    {
        Validate();
        string device = Device.ToLowerInvariant();
        if (device == "auto")
        {
            return Native.TorchRuntime.CudaLibraryPresent() && Native.TorchRuntime.CudaAvailable() ? "cuda" : "cpu";
        }

        if (device != "cpu" && !Native.TorchRuntime.CudaLibraryPresent())
        {
            throw new ArgumentException(
                $"Device is '{Device}', but only the CPU build of libtorch (TorchSharp-cpu, which ModelManager.Lib brings) is installed. "
                + "To train on CUDA, add a PackageReference to TorchSharp-cuda-linux (or TorchSharp-cuda-windows) of the same TorchSharp version to the application, or use \"auto\" or \"cpu\".",
                nameof(Device));
        }

        return device;
    }

    /// <inheritdoc />
    public bool Equals(TrainingConfig? other) =>
        other is not null
        && HiddenSizes.AsSpan().SequenceEqual(other.HiddenSizes.AsSpan())
        && LearningRate.Equals(other.LearningRate) && BatchSize == other.BatchSize && Epochs == other.Epochs
        && ValidationSplit.Equals(other.ValidationSplit) && EarlyStoppingPatience == other.EarlyStoppingPatience
        && MinDelta.Equals(other.MinDelta) && RelativeMinDelta == other.RelativeMinDelta && Standardize == other.Standardize && string.Equals(Device, other.Device, StringComparison.Ordinal)
        && Dropout.Equals(other.Dropout) && Seed == other.Seed && ThresholdPercentile.Equals(other.ThresholdPercentile)
        && ThresholdCalibration == other.ThresholdCalibration && CpuThreads == other.CpuThreads;

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(HiddenSizes.IsDefault ? 0 : HiddenSizes.Length, LearningRate, BatchSize, Epochs, ValidationSplit, Seed, Device);

    private static ArgumentOutOfRangeException Range(string field, object value, string rule, string? display = null) =>
        new(field, value, string.Create(CultureInfo.InvariantCulture, $"{display ?? field} is {value}; {rule}."));

    [GeneratedRegex(@"^(auto|cpu|cuda(:[0-9]+)?)\z", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex DevicePattern();
}
