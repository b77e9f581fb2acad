using AgeGroupAnomaly.Compute;
using System.Collections.Immutable;
using System.Diagnostics;
using System.Globalization;
using AgeGroupAnomaly.Modeling;
using AgeGroupAnomaly.Native;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace AgeGroupAnomaly.Training;

/// <summary>
/// Trains one <see cref="AutoencoderModel"/> with the original service's loop (Adam, MSE, gradient
/// clipping, ReduceLROnPlateau, early stopping, emergency stop) and restores the best epoch's weights.
/// </summary>
/// <remarks>
/// On the CPU the managed engine trains without libtorch, and trainings may run in parallel. The
/// TorchSharp engine (CUDA, or the reference) sets libtorch's process-wide thread count, so those
/// trainings run one at a time.
/// </remarks>
public sealed class AutoencoderTrainer
{
    /// <summary>A validation loss above this stops training at once.</summary>
    public const double EmergencyValidationLoss = 100_000;

    private const double GradientClipNorm = 1.0;

    private static readonly Lock TorchGate = new();

    private readonly TrainingConfig _config;
    private readonly ILogger _logger;

    /// <summary>Creates a trainer.</summary>
    /// <param name="config">The configuration; null for <see cref="TrainingConfig.Default"/>. Validated here.</param>
    /// <param name="logger">Receives epoch summaries and the stop reason; null for none.</param>
    public AutoencoderTrainer(TrainingConfig? config = null, ILogger<AutoencoderTrainer>? logger = null)
    {
        _config = config ?? TrainingConfig.Default;
        _config.Validate();
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>The configuration in use.</summary>
    public TrainingConfig Config => _config;

    /// <summary>
    /// Runs TorchSharp's modules, autograd and Adam even on the CPU instead of the managed engine:
    /// the reference the managed engine is tested against.
    /// </summary>
    internal bool UseReferenceEngine { get; init; }

    /// <summary>The fewest rows that leave at least one row each for training and validation.</summary>
    /// <param name="validationSplit">The validation fraction, in [<see cref="TrainingConfig.MinValidationSplit"/>, 1).</param>
    /// <returns>The minimum row count (computed in closed form: about 1 / <paramref name="validationSplit"/>).</returns>
    /// <exception cref="ArgumentOutOfRangeException">The fraction lies outside that range.</exception>
    public static int MinimumRows(double validationSplit)
    {
        if (!(validationSplit >= TrainingConfig.MinValidationSplit && validationSplit < 1))
        {
            throw new ArgumentOutOfRangeException(
                nameof(validationSplit),
                validationSplit,
                string.Create(CultureInfo.InvariantCulture, $"ValidationSplit is {validationSplit}; it must lie in [0.000001, 1)."));
        }

        // floor(n · split) ≥ 1 first holds near n = 1 / split; the few candidates around it absorb rounding.
        int estimate = (int)Math.Ceiling(1 / validationSplit);
        for (int n = Math.Max(2, estimate - 2); n <= estimate + 2; n++)
        {
            (int train, int validation) = SplitSizes(n, validationSplit);
            if (train >= 1 && validation >= 1)
            {
                return n;
            }
        }

        throw new UnreachableException($"No row count near {estimate} splits with {validationSplit}.");
    }

    /// <summary>Trains on rows of equal length.</summary>
    /// <param name="embeddings">The rows.</param>
    /// <param name="progress">Receives each epoch's record.</param>
    /// <param name="cancellationToken">Checked before every batch.</param>
    /// <returns>The trained module and its result; dispose it.</returns>
    public TrainedAutoencoder Train(IReadOnlyList<float[]> embeddings, IProgress<EpochRecord>? progress = null, CancellationToken cancellationToken = default) =>
        Train(EmbeddingMatrix.FromRows(embeddings), progress, cancellationToken);

    /// <summary>Trains on a contiguous row-major block of embeddings.</summary>
    /// <param name="embeddings">Rows × <paramref name="dimension"/> values.</param>
    /// <param name="dimension">Length of one row.</param>
    /// <param name="progress">Receives each epoch's record.</param>
    /// <param name="cancellationToken">Checked before every batch.</param>
    /// <returns>The trained module and its result; dispose it.</returns>
    public TrainedAutoencoder Train(ReadOnlyMemory<float> embeddings, int dimension, IProgress<EpochRecord>? progress = null, CancellationToken cancellationToken = default) =>
        Train(EmbeddingMatrix.FromContiguous(embeddings, dimension), progress, cancellationToken);

    internal TrainedAutoencoder Train(EmbeddingMatrix data, IProgress<EpochRecord>? progress, CancellationToken cancellationToken)
    {
        int required = MinimumRows(_config.ValidationSplit);
        if (data.Rows < required)
        {
            throw new InsufficientSamplesException(
                string.Create(CultureInfo.InvariantCulture, $"{data.Rows} rows are too few to train with validation split {_config.ValidationSplit}: at least {required} are needed so that training and validation each get a row."),
                data.Rows,
                required);
        }

        cancellationToken.ThrowIfCancellationRequested();
        string deviceName = _config.ResolveDevice();
        if (deviceName == "cpu" && !UseReferenceEngine)
        {
            // The managed engine: no libtorch, no process-wide state, so trainings may run side by side.
            return Guarded(() => TrainCore(data, deviceName, progress, cancellationToken));
        }

        // TorchSharp's thread count is process-wide: trainings that use libtorch run one at a time.
        TorchRuntime.EnsureAvailable();
        lock (TorchGate)
        {
            int previousThreads = torch.get_num_threads();
            try
            {
                if (_config.CpuThreads is { } threads)
                {
                    torch.set_num_threads(threads);
                }

                return Guarded(() => TrainCore(data, deviceName, progress, cancellationToken));
            }
            finally
            {
                if (_config.CpuThreads is not null)
                {
                    torch.set_num_threads(previousThreads);
                }
            }
        }
    }

    private static TrainedAutoencoder Guarded(Func<TrainedAutoencoder> train)
    {
        try
        {
            return train();
        }
        catch (Exception ex) when (ex is not ModelManagerException and not OperationCanceledException)
        {
            throw new AutoencoderTrainingException($"Training failed: {ex.Message}", ex);
        }
    }

    private TrainedAutoencoder TrainCore(EmbeddingMatrix data, string deviceName, IProgress<EpochRecord>? progress, CancellationToken cancellationToken)
    {
        var total = Stopwatch.StartNew();
        var rng = new Random(_config.Seed);
        int[] order = [.. Enumerable.Range(0, data.Rows)];
        rng.Shuffle(order);
        (int trainCount, int validationCount) = SplitSizes(data.Rows, _config.ValidationSplit);
        int[] trainRows = order[..trainCount];
        int[] validationRows = order[trainCount..];

        var architecture = new ArchitectureInfo(data.Dimension, _config.ResolveHiddenSizes(data.Dimension), _config.Dropout);
        TrainingLog.TrainingStarted(_logger, data.Rows, data.Dimension, trainCount, validationCount, architecture, deviceName);

        // Fitted on every row the trainer is given (the rows the caller chose to train this model on),
        // so the transform does not depend on the seeded split; both engines train on the standardized rows.
        InputStandardizer? standardizer = _config.Standardize ? InputStandardizer.Fit(data.Values, data.Dimension) : null;
        EmbeddingMatrix trainingData = standardizer is null ? data : EmbeddingMatrix.FromContiguous(standardizer.ApplyAll(data.Values), data.Dimension);

        // Managed seeded initialisation (torch.nn.Linear's distribution) on every path, so both engines start from the same weights.
        ModelWeights initial = WeightInitializer.Initialize(architecture, _config.Seed);
        AutoencoderModel? module = null;
        try
        {
            using ITrainingEngine engine = deviceName == "cpu" && !UseReferenceEngine
                ? new CpuTrainingEngine(initial, trainingData.Values, Math.Min(_config.BatchSize, Math.Max(trainCount, validationCount)), _config.LearningRate, _config.Seed, _config.CpuThreads ?? Environment.ProcessorCount)
                : TorchEngine(initial, trainingData, deviceName, out module);
            var scheduler = new PlateauSchedule(_config.LearningRate, factor: 0.5, patience: 5);
            var earlyStopping = new EarlyStopping(_config.EarlyStoppingPatience, _config.MinDelta, _config.RelativeMinDelta);

            var history = ImmutableArray.CreateBuilder<EpochRecord>();
            ModelWeights? best = null;
            int bestEpoch = 0;
            double bestValidation = double.PositiveInfinity;
            StopReason reason = StopReason.MaxEpochs;

            for (int epoch = 1; epoch <= _config.Epochs; epoch++)
            {
                var watch = Stopwatch.StartNew();
                double learningRate = engine.LearningRate;

                rng.Shuffle(trainRows);
                double trainLoss = 0;
                int batches = 0;
                for (int start = 0; start < trainRows.Length; start = NextStart(trainRows, start, _config.BatchSize))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    trainLoss += engine.TrainBatch(Batch(trainRows, start, _config.BatchSize), GradientClipNorm);
                    batches++;
                }

                trainLoss /= batches;
                if (!double.IsFinite(trainLoss))
                {
                    if (best is null)
                    {
                        throw new AutoencoderTrainingException(
                            string.Create(CultureInfo.InvariantCulture, $"The mean training loss of epoch {epoch} is {trainLoss}; no usable weights were produced. Check the embeddings' scale (very large values overflow) or lower the learning rate."));
                    }

                    TrainingLog.NonFiniteTrainLoss(_logger, epoch, trainLoss);
                    reason = StopReason.NonFiniteLoss;
                    break;
                }

                double validationLoss = MeanBatchLoss(engine, validationRows, _config.BatchSize, cancellationToken);
                var record = new EpochRecord(epoch, trainLoss, validationLoss, learningRate, watch.Elapsed);
                history.Add(record);
                TrainingLog.EpochCompleted(_logger, epoch, _config.Epochs, trainLoss, validationLoss, learningRate);
                progress?.Report(record);

                if (validationLoss < bestValidation)
                {
                    bestValidation = validationLoss;
                    bestEpoch = epoch;
                    best = engine.Weights(); // a deep copy: later steps cannot change it
                }

                engine.LearningRate = scheduler.Step(validationLoss);
                if (earlyStopping.Step(validationLoss))
                {
                    reason = StopReason.EarlyStopping;
                    break;
                }

                if (validationLoss > EmergencyValidationLoss)
                {
                    TrainingLog.EmergencyStop(_logger, epoch, validationLoss);
                    reason = StopReason.EmergencyStop;
                    break;
                }
            }

            if (best is null)
            {
                throw new AutoencoderTrainingException("No epoch produced a finite validation loss; no usable weights were produced.");
            }

            if (module is not null)
            {
                module.LoadWeights(best);
                module.eval();
            }

            best = best.WithStandardizer(standardizer);

            // Calibrate with the same managed kernel (standardizer included) that scores later, so a
            // training row scores exactly its calibration error (no float32-vs-kernel rounding at the threshold).
            double[] errors = new double[data.Rows];
            new InferenceKernel(best).ReconstructionLosses(data.Values, errors);
            var metrics = LossStatistics.FromLosses(errors);
            var validationMetrics = LossStatistics.FromLosses([.. validationRows.Select(i => errors[i])]);
            LossStatistics calibrationLosses = ThresholdPolicy.Select(_config.ThresholdCalibration, metrics, validationMetrics);
            var policy = ThresholdPolicy.For(_config.ThresholdPercentile, _config.ThresholdCalibration, calibrationLosses.Count);
            double threshold = policy.ThresholdFrom(calibrationLosses);
            if (!double.IsFinite(threshold))
            {
                throw new AutoencoderTrainingException($"The anomaly threshold came out as {threshold}; refusing to keep a model with a non-finite threshold.");
            }

            var result = new TrainingResult
            {
                BestValidationLoss = bestValidation,
                BestEpoch = bestEpoch,
                StopReason = reason,
                ThresholdPolicy = policy,
                Architecture = architecture,
                Config = _config,
                TrainCount = trainCount,
                ValidationCount = validationCount,
                History = history.ToImmutable(),
                Metrics = metrics,
                ValidationMetrics = validationMetrics,
                Threshold = threshold,
                Weights = best,
                Duration = total.Elapsed,
                ValidationRowIndices = [.. validationRows],
            };
            TrainingLog.TrainingFinished(_logger, result.EpochsTrained, reason, bestValidation, bestEpoch, threshold, total.ElapsedMilliseconds);
            return new TrainedAutoencoder(result, module);
        }
        catch
        {
            module?.Dispose();
            throw;
        }
    }

    private TorchTrainingEngine TorchEngine(ModelWeights initial, EmbeddingMatrix data, string deviceName, out AutoencoderModel module)
    {
        Device device = torch.device(deviceName);
        module = AutoencoderModel.FromWeights(initial);
        module.to(device);
        return new TorchTrainingEngine(module, data.Values, data.Dimension, device, _config.LearningRate, _config.Seed);
    }

    /// <summary>Mean of per-batch MSE losses over the given rows in eval mode (the validation loss).</summary>
    internal static double MeanBatchLoss(ITrainingEngine engine, int[] rows, int batchSize, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return engine.MeanBatchLoss(rows, batchSize);
    }

    private static (int Train, int Validation) SplitSizes(int rows, double validationSplit)
    {
        int validation = (int)(rows * validationSplit);
        return (rows - validation, validation);
    }

    /// <summary>Where the next batch starts; never past the end, so no batch size can overflow the index.</summary>
    private static int NextStart(int[] rows, int start, int batchSize) => start + Math.Min(batchSize, rows.Length - start);

    private static ReadOnlySpan<int> Batch(int[] rows, int start, int batchSize) =>
        rows.AsSpan(start, Math.Min(batchSize, rows.Length - start));
}
