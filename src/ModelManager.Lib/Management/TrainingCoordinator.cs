using System.Diagnostics;
using System.Globalization;
using AgeGroupAnomaly.Checkpoints;
using AgeGroupAnomaly.Storage;
using AgeGroupAnomaly.Telemetry;
using AgeGroupAnomaly.Training;
using Microsoft.Extensions.Logging;

namespace AgeGroupAnomaly.Management;

/// <summary>
/// Trains one age range and makes the result durable in a fixed order: checkpoint first, then the
/// record that activates it; if recording fails, the checkpoint is removed again, so no record ever
/// points to a missing checkpoint and no failed training leaves a file behind.
/// </summary>
internal sealed class TrainingCoordinator(IModelStore store, ICheckpointStore checkpoints, TrainingQueue queue, bool allowOverlaps, ILoggerFactory loggerFactory, Action modelsChanged, ModelManagerTelemetry? telemetry = null)
{
    private readonly ILogger _logger = loggerFactory.CreateLogger<ModelManager>();
    private readonly ITrainingLockProvider _locks = InProcessTrainingLocks.For(store);

    /// <summary>Trains one range; waits while another training of the same range (here or in another instance) holds its lock.</summary>
    public async Task<AgeGroupTrainingResult> TrainAsync(
        double ageMin, double ageMax, TrainingConfig config, IProgress<EpochRecord>? progress, CancellationToken cancellationToken)
    {
        StoreValidation.Range(ageMin, ageMax);
        config.Validate();
        string range = ModelManagerTelemetry.AgeRange(ageMin, ageMax);
        using Activity? activity = ModelManagerTelemetry.Activities.StartActivity("ModelManager.Train");
        activity?.SetTag(ModelManagerTelemetry.AgeRangeTag, range);
        long start = Stopwatch.GetTimestamp();
        try
        {
            AgeGroupTrainingResult trained = await TrainAndRecordAsync(ageMin, ageMax, config, progress, cancellationToken).ConfigureAwait(false);
            telemetry?.Trained(range, "completed", Stopwatch.GetElapsedTime(start), trained.Training.EpochsTrained);
            activity?.SetTag("modelmanager.training.epochs", trained.Training.EpochsTrained);
            return trained;
        }
        catch (Exception ex)
        {
            string outcome = ex is OperationCanceledException ? "cancelled" : "failed";
            telemetry?.Trained(range, outcome, Stopwatch.GetElapsedTime(start), null);
            activity?.SetStatus(ActivityStatusCode.Error, outcome).SetTag(ModelManagerTelemetry.ErrorTypeTag, ex.GetType().Name);
            throw;
        }
    }

    private async Task<AgeGroupTrainingResult> TrainAndRecordAsync(
        double ageMin, double ageMax, TrainingConfig config, IProgress<EpochRecord>? progress, CancellationToken cancellationToken)
    {
        await CheckOverlapAsync(ageMin, ageMax, null, cancellationToken).ConfigureAwait(false); // fail before minutes of training
        IAsyncDisposable held = await _locks.AcquireTrainingLockAsync(ageMin, ageMax, cancellationToken).ConfigureAwait(false);
        await using (held.ConfigureAwait(false))
        {
            return await TrainHoldingLockAsync(ageMin, ageMax, config, progress, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The training itself; the caller holds the range's training lock, so the samples are read now, not before waiting for it.</summary>
    private async Task<AgeGroupTrainingResult> TrainHoldingLockAsync(
        double ageMin, double ageMax, TrainingConfig config, IProgress<EpochRecord>? progress, CancellationToken cancellationToken)
    {
        IReadOnlyList<SampleRecord> samples = await store.GetSamplesAsync(ageMin, ageMax, cancellationToken).ConfigureAwait(false);
        float[][] embeddings = TrainingSet(samples, ageMin, ageMax, config);

        var trainer = new AutoencoderTrainer(config, loggerFactory.CreateLogger<AutoencoderTrainer>());
        TrainingResult result;
        try
        {
            result = await queue.RunAsync(
                token =>
                {
                    using TrainedAutoencoder trained = trainer.Train(embeddings, progress, token);
                    return trained.Result;
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            ManagerLog.TrainingCancelled(_logger, ageMin, ageMax);
            throw;
        }

        return await RecordAsync(ageMin, ageMax, embeddings[0].Length, samples.Count, result, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Makes a model durable: writes its checkpoint, then the record that activates it (after the
    /// overlap check, again); if recording fails the checkpoint is removed. Trainings and imports both end here.
    /// </summary>
    public async Task<AgeGroupTrainingResult> RecordAsync(
        double ageMin, double ageMax, int embeddingDimension, int sampleCount, TrainingResult result, CancellationToken cancellationToken)
    {
        var id = Guid.NewGuid();
        (byte[] bytes, string sha256) = CheckpointCodec.Encode(result.Weights);
        ModelRecord record = await RecordAsync(
            new ModelRecord
            {
                Id = id,
                AgeMin = ageMin,
                AgeMax = ageMax,
                EmbeddingDimension = embeddingDimension,
                ParametersJson = ModelParameters.ToJson(result),
                SampleCount = sampleCount,
                Threshold = result.Threshold,
                CreatedUtc = DateTime.UtcNow,
                IsActive = true,
                CheckpointPath = string.Empty, // set once the checkpoint is written
                CheckpointSha256 = sha256,
            },
            bytes,
            cancellationToken).ConfigureAwait(false);

        ManagerLog.ModelRecorded(_logger, id, ageMin, ageMax, sampleCount, result.Threshold);
        return new AgeGroupTrainingResult(ModelInfo.From(record, result), result, new CheckpointInfo(record.CheckpointPath, sha256));
    }

    /// <summary>
    /// Makes a new model durable: the checkpoint first, then the record (after checking overlaps
    /// again, as other callers may have changed models meanwhile); when recording fails the
    /// checkpoint is removed again. Routing follows either way.
    /// </summary>
    /// <returns>The record as stored, with its checkpoint location.</returns>
    public async Task<ModelRecord> RecordAsync(ModelRecord draft, byte[] checkpoint, CancellationToken cancellationToken)
    {
        string location = await checkpoints.WriteAsync(draft.Id, checkpoint, cancellationToken).ConfigureAwait(false);
        ModelRecord record = draft with { CheckpointPath = location };
        try
        {
            if (record.IsActive)
            {
                IReadOnlyList<ModelRecord> before = await CheckOverlapAsync(record.AgeMin, record.AgeMax, null, cancellationToken).ConfigureAwait(false);
                await store.AddModelAsync(record, cancellationToken).ConfigureAwait(false);
                LogReplacements(before, record);
            }
            else
            {
                await store.AddModelAsync(record, cancellationToken).ConfigureAwait(false); // an inactive model routes nothing, so it overlaps nothing
            }
        }
        catch (Exception ex)
        {
            try
            {
                await checkpoints.DeleteAsync(record.Id, location, CancellationToken.None).ConfigureAwait(false);
                ManagerLog.RecordFailedCheckpointRemoved(_logger, record.Id, location, ex);
            }
#pragma warning disable CA1031 // the recording failure is what the caller must see; this cleanup failure is only logged
            catch (Exception cleanup)
#pragma warning restore CA1031
            {
                ManagerLog.CheckpointCleanupFailed(_logger, record.Id, location, cleanup);
            }

            throw;
        }
        finally
        {
            modelsChanged();
        }

        return record;
    }

    /// <summary>
    /// Trains every planned group that has enough samples, one after another, sharing the work with
    /// other instances doing the same: a group whose training lock another training holds is
    /// skipped, and so is a group whose active model changed since this call began (another
    /// instance retrained it meanwhile). Skipped groups are not in the result.
    /// </summary>
    public async Task<IReadOnlyList<AgeGroupTrainingResult>> TrainAllAsync(
        IReadOnlyList<AgeGroupPlan> plan, TrainingConfig config, IProgress<AgeGroupProgress>? progress, CancellationToken cancellationToken)
    {
        AgeGroupPlan[] groups = [.. plan.Where(g => g.HasEnoughSamples)];
        config.Validate();
        Dictionary<(double, double), Guid> activeAtStart = ActiveByRange(await store.ListModelsAsync(cancellationToken).ConfigureAwait(false));
        var results = new List<AgeGroupTrainingResult>(groups.Length);
        for (int index = 0; index < groups.Length; index++)
        {
            AgeGroupPlan group = groups[index];
            IAsyncDisposable? held = await _locks.TryAcquireTrainingLockAsync(group.AgeMin, group.AgeMax, cancellationToken).ConfigureAwait(false);
            if (held is null)
            {
                ManagerLog.TrainingSkippedLockHeld(_logger, group.AgeMin, group.AgeMax);
                continue;
            }

            await using (held.ConfigureAwait(false))
            {
                Dictionary<(double, double), Guid> activeNow = ActiveByRange(await CheckOverlapAsync(group.AgeMin, group.AgeMax, null, cancellationToken).ConfigureAwait(false));
                activeAtStart.TryGetValue((group.AgeMin, group.AgeMax), out Guid before);
                activeNow.TryGetValue((group.AgeMin, group.AgeMax), out Guid now);
                if (before != now)
                {
                    ManagerLog.TrainingSkippedRetrainedElsewhere(_logger, group.AgeMin, group.AgeMax, now);
                    continue;
                }

                int position = index;
                IProgress<EpochRecord>? epochs = progress is null ? null : new RelayProgress<EpochRecord>(e => progress.Report(new AgeGroupProgress(position, groups.Length, group, e, config.Epochs)));
                results.Add(await TrainHoldingLockAsync(group.AgeMin, group.AgeMax, config, epochs, cancellationToken).ConfigureAwait(false));
            }
        }

        return results;
    }

    private static Dictionary<(double, double), Guid> ActiveByRange(IEnumerable<ModelRecord> models)
    {
        var active = new Dictionary<(double, double), Guid>();
        foreach (ModelRecord model in models.Where(m => m.IsActive))
        {
            active[(model.AgeMin, model.AgeMax)] = model.Id;
        }

        return active;
    }

    /// <summary>
    /// Throws <see cref="OverlappingRangeException"/> when the range overlaps another active model
    /// (unless overlaps are allowed, then logs it); returns the models it read.
    /// </summary>
    public async Task<IReadOnlyList<ModelRecord>> CheckOverlapAsync(double ageMin, double ageMax, Guid? modelId, CancellationToken cancellationToken)
    {
        IReadOnlyList<ModelRecord> models = await store.ListModelsAsync(cancellationToken).ConfigureAwait(false);
        if (RangeOverlap.FirstOverlap(models, ageMin, ageMax, except: modelId) is { } other)
        {
            if (!allowOverlaps)
            {
                throw new OverlappingRangeException(ageMin, ageMax, other.Id, other.AgeMin, other.AgeMax);
            }

            ManagerLog.OverlapAllowed(_logger, modelId, ageMin, ageMax, other.Id, other.AgeMin, other.AgeMax);
        }

        return models;
    }

    /// <summary>Logs the active models of exactly this range that <paramref name="model"/> now replaces.</summary>
    public void LogReplacements(IEnumerable<ModelRecord> before, ModelRecord model)
    {
        foreach (ModelRecord old in RangeOverlap.Replaced(before, model.AgeMin, model.AgeMax, model.Id))
        {
            ManagerLog.ModelReplaced(_logger, model.Id, model.AgeMin, model.AgeMax, old.Id);
        }
    }

    private static float[][] TrainingSet(IReadOnlyList<SampleRecord> samples, double ageMin, double ageMax, TrainingConfig config)
    {
        string range = string.Create(CultureInfo.InvariantCulture, $"[{ageMin}, {ageMax}]");
        int required = AutoencoderTrainer.MinimumRows(config.ValidationSplit);
        if (samples.Count == 0)
        {
            throw new InsufficientSamplesException($"No samples have an age in {range}; add samples for this range before training.", 0, required);
        }

        if (samples.Count < required)
        {
            throw new InsufficientSamplesException(
                string.Create(CultureInfo.InvariantCulture, $"Only {samples.Count} samples have an age in {range}; at least {required} are needed to keep one for validation."),
                samples.Count,
                required);
        }

        string[] dimensions = [.. samples.GroupBy(s => s.Embedding.Length).Select(g => $"{g.Key} ({g.Count()} samples)")];
        if (dimensions.Length > 1)
        {
            throw new InvalidEmbeddingException($"The samples in {range} have mixed embedding dimensions: {string.Join(", ", dimensions)}; one model needs one dimension.");
        }

        return [.. samples.Select(s => s.Embedding)];
    }

    private sealed class RelayProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
