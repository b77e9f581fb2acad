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
/// Everything training produced except the live module: figures, history, error statistics and
/// the restored best weights as managed arrays.
/// </summary>
public sealed record TrainingResult
{
    /// <summary>Epochs that ran.</summary>
    public required int EpochsTrained { get; init; }

    /// <summary>Best validation loss; the returned weights are that epoch's.</summary>
    public required double BestValidationLoss { get; init; }

    /// <summary>1-based epoch of the best validation loss.</summary>
    public required int BestEpoch { get; init; }

    /// <summary>Training loss of the last epoch.</summary>
    public required double FinalTrainLoss { get; init; }

    /// <summary>Validation loss of the last epoch.</summary>
    public required double FinalValidationLoss { get; init; }

    /// <summary>Why training ended.</summary>
    public required StopReason StopReason { get; init; }

    /// <summary>The model's shape and parameter counts.</summary>
    public required ArchitectureInfo Architecture { get; init; }

    /// <summary>The configuration used.</summary>
    public required TrainingConfig Config { get; init; }

    /// <summary>Training rows.</summary>
    public required int TrainCount { get; init; }

    /// <summary>Validation rows.</summary>
    public required int ValidationCount { get; init; }

    /// <summary>Per-epoch figures.</summary>
    public required ImmutableArray<EpochRecord> History { get; init; }

    /// <summary>
    /// Per-sample error statistics over the full data set (training and validation rows) in eval
    /// mode. The threshold is taken from these, as the original service did; note that training
    /// rows are part of the calibration set, which makes the threshold slightly optimistic.
    /// </summary>
    public required ErrorStatistics Metrics { get; init; }

    /// <summary>The same statistics over the held-out validation rows only, for comparison.</summary>
    public required ErrorStatistics ValidationMetrics { get; init; }

    /// <summary>The anomaly threshold: <see cref="Metrics"/> at <see cref="TrainingConfig.ThresholdPercentile"/>.</summary>
    public required double Threshold { get; init; }

    /// <summary>The best epoch's weights (deep copy).</summary>
    public required ModelWeights Weights { get; init; }

    /// <summary>Which input rows (zero-based) were held out for validation.</summary>
    public required ImmutableArray<int> ValidationRowIndices { get; init; }

    /// <summary>Wall time of the whole run.</summary>
    public required TimeSpan Duration { get; init; }
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

    /// <summary>The module holding the best epoch's weights, in eval mode (built on first use).</summary>
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
