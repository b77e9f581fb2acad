using System.Collections.Immutable;
using AgeGroupAnomaly.Modeling;

namespace AgeGroupAnomaly.Training;

/// <summary>Why training ended.</summary>
public enum StopReason
{
    /// <summary>All configured epochs ran.</summary>
    MaxEpochs,

    /// <summary>The validation loss stopped improving.</summary>
    EarlyStopping,

    /// <summary>The mean training loss of an epoch was NaN or infinite (after the first epoch).</summary>
    NonFiniteLoss,

    /// <summary>The validation loss exceeded the emergency limit.</summary>
    EmergencyStop,
}

/// <summary>One epoch's figures.</summary>
/// <param name="Epoch">1-based epoch number.</param>
/// <param name="TrainLoss">Mean of the per-batch training losses.</param>
/// <param name="ValidationLoss">Mean of the per-batch validation losses.</param>
/// <param name="LearningRate">Learning rate used during the epoch.</param>
/// <param name="Duration">Wall time of the epoch.</param>
public sealed record EpochRecord(int Epoch, double TrainLoss, double ValidationLoss, double LearningRate, TimeSpan Duration);

/// <summary>
/// What a training run was and how it went: configuration, architecture, per-epoch history, stop
/// reason, best epoch and the error statistics the threshold comes from. The one description of a
/// training: <see cref="TrainingResult"/> adds the weights, and a stored model carries it as
/// <see cref="ModelInfo.Training"/>.
/// </summary>
public record TrainingSummary
{
    /// <summary>The configuration used.</summary>
    public required TrainingConfig Config { get; init; }

    /// <summary>The model's shape and parameter counts.</summary>
    public required ArchitectureInfo Architecture { get; init; }

    /// <summary>Per-epoch figures.</summary>
    public required ImmutableArray<EpochRecord> History { get; init; }

    /// <summary>Why training ended.</summary>
    public required StopReason StopReason { get; init; }

    /// <summary>1-based epoch of the best validation loss; its weights are the model's.</summary>
    public required int BestEpoch { get; init; }

    /// <summary>Best validation loss.</summary>
    public required double BestValidationLoss { get; init; }

    /// <summary>Epochs that ran.</summary>
    public int EpochsTrained => History.IsDefaultOrEmpty ? 0 : History.Length;

    /// <summary>Training loss of the last epoch.</summary>
    public double FinalTrainLoss => History.IsDefaultOrEmpty ? double.NaN : History[^1].TrainLoss;

    /// <summary>Validation loss of the last epoch.</summary>
    public double FinalValidationLoss => History.IsDefaultOrEmpty ? double.NaN : History[^1].ValidationLoss;

    /// <summary>
    /// Per-sample error statistics over the full data set (training and validation rows) in eval
    /// mode. The original service took its threshold from these
    /// (<see cref="ThresholdCalibration.TrainingAndValidationRows"/>); the rows the model fitted make
    /// such a threshold too low for new rows.
    /// </summary>
    public required LossStatistics Metrics { get; init; }

    /// <summary>The same statistics over the held-out validation rows only: the calibration set of <see cref="ThresholdCalibration.ValidationRows"/>.</summary>
    public required LossStatistics ValidationMetrics { get; init; }

    /// <summary>How the threshold was chosen: percentile, rule and the rows it was calibrated on.</summary>
    public required ThresholdPolicy ThresholdPolicy { get; init; }

    /// <summary>Training rows (0 for models stored before this was recorded).</summary>
    public int TrainCount { get; init; }

    /// <summary>Validation rows (0 for models stored before this was recorded).</summary>
    public int ValidationCount { get; init; }

    /// <summary>Wall time of the whole run (zero for models stored before this was recorded).</summary>
    public TimeSpan Duration { get; init; }
}

/// <summary>Everything training produced except the live module: the summary, the threshold and the best weights.</summary>
public sealed record TrainingResult : TrainingSummary
{
    /// <summary>The anomaly threshold: the <see cref="TrainingSummary.ThresholdPolicy"/> applied to its calibration losses.</summary>
    public required double Threshold { get; init; }

    /// <summary>The best epoch's weights (deep copy).</summary>
    public required ModelWeights Weights { get; init; }

    /// <summary>Which input rows (zero-based) were held out for validation.</summary>
    public required ImmutableArray<int> ValidationRowIndices { get; init; }
}

/// <summary>
/// A training's result, with its weights as a TorchSharp module on demand. Dispose it to free the
/// module's native memory.
/// </summary>
/// <remarks>
/// The module is built from <see cref="TrainingResult.Weights"/> the first time <see cref="Model"/>
/// is read, so a CPU training that never asks for it never loads libtorch.
/// </remarks>
public sealed class TrainedAutoencoder : IDisposable
{
    private readonly Lock _gate = new();
    private AutoencoderModel? _model;
    private bool _disposed;

    internal TrainedAutoencoder(TrainingResult result, AutoencoderModel? model = null)
    {
        Result = result;
        _model = model;
    }

    /// <summary>
    /// The module holding the best epoch's weights, in eval mode (built on first use). It takes
    /// standardized inputs when <see cref="TrainingResult.Weights"/> carries a standardizer.
    /// </summary>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    public AutoencoderModel Model
    {
        get
        {
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                return _model ??= AutoencoderModel.FromWeights(Result.Weights);
            }
        }
    }

    /// <summary>Figures, history, statistics and weights.</summary>
    public TrainingResult Result { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _model?.Dispose();
            _model = null;
        }
    }
}
