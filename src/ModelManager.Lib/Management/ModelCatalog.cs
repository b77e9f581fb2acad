using AgeGroupAnomaly.Checkpoints;
using AgeGroupAnomaly.Storage;
using AgeGroupAnomaly.Training;
using Microsoft.Extensions.Logging;

namespace AgeGroupAnomaly.Management;

/// <summary>
/// The stored models as users see them, and the changes to them: describe, list, activate,
/// deactivate, delete and clean up. Every change makes routing (and for deletes the cache) follow,
/// even when the store fails half-way.
/// </summary>
internal sealed class ModelCatalog(IModelStore store, ICheckpointStore checkpoints, ModelResolver models, TrainingCoordinator training, ILogger logger)
{
    public async Task<ModelInfo> GetAsync(Guid modelId, CancellationToken cancellationToken) =>
        ModelInfo.From(await store.GetModelAsync(modelId, cancellationToken).ConfigureAwait(false) ?? throw new ModelNotFoundException(modelId));

    public async Task<IReadOnlyList<ModelInfo>> ListAsync(CancellationToken cancellationToken)
    {
        var infos = new List<ModelInfo>();
        foreach (ModelRecord record in await store.ListModelsAsync(cancellationToken).ConfigureAwait(false))
        {
            try
            {
                infos.Add(ModelInfo.From(record));
            }
            catch (ModelLoadingException ex)
            {
                ManagerLog.DamagedRecordSkipped(logger, record.Id, ex); // one damaged record must not hide the others
            }
        }

        return infos;
    }

    public async Task ActivateAsync(Guid modelId, CancellationToken cancellationToken)
    {
        ModelRecord record = await store.GetModelAsync(modelId, cancellationToken).ConfigureAwait(false) ?? throw new ModelNotFoundException(modelId);
        IReadOnlyList<ModelRecord> before = await training.CheckOverlapAsync(record.AgeMin, record.AgeMax, modelId, cancellationToken).ConfigureAwait(false);
        await ChangeAsync(modelId, store.ActivateModelAsync, evict: false, cancellationToken).ConfigureAwait(false);
        training.LogReplacements(before, record);
        ManagerLog.ModelActivated(logger, modelId);
    }

    public async Task DeactivateAsync(Guid modelId, CancellationToken cancellationToken)
    {
        await ChangeAsync(modelId, store.DeactivateModelAsync, evict: false, cancellationToken).ConfigureAwait(false);
        ManagerLog.ModelDeactivated(logger, modelId);
    }

    /// <summary>The record first, then the checkpoint: a crash in between leaves an orphan file, never a record without one.</summary>
    public async Task DeleteAsync(Guid modelId, CancellationToken cancellationToken)
    {
        ModelRecord record = await store.GetModelAsync(modelId, cancellationToken).ConfigureAwait(false) ?? throw new ModelNotFoundException(modelId);
        await ChangeAsync(modelId, store.DeleteModelAsync, evict: true, cancellationToken).ConfigureAwait(false);
        await checkpoints.DeleteAsync(modelId, record.CheckpointPath, cancellationToken).ConfigureAwait(false);
        ManagerLog.ModelDeleted(logger, modelId);
    }

    /// <summary>
    /// A new version of a model with a threshold chosen again from its stored calibration losses:
    /// same weights (the verified checkpoint is copied under the new id, so deleting either version
    /// leaves the other whole), active when the source is, the source kept for rollback.
    /// </summary>
    public async Task<ModelInfo> RecalibrateAsync(Guid modelId, double thresholdPercentile, ThresholdCalibration? calibration, CancellationToken cancellationToken)
    {
        _ = ThresholdPolicy.For(thresholdPercentile, calibration ?? ThresholdCalibration.ValidationRows, 0); // bad arguments fail before any I/O
        ModelRecord source = await store.GetModelAsync(modelId, cancellationToken).ConfigureAwait(false) ?? throw new ModelNotFoundException(modelId);
        TrainingSummary summary = ModelParameters.Parse(modelId, source.ParametersJson);
        if (double.IsNaN(summary.ThresholdPolicy.Percentile))
        {
            throw new InvalidOperationException(
                $"Model {modelId}'s threshold was given, not calibrated (imported with PyTorchImportCalibration.FromThreshold): it stores no calibration losses to choose another threshold from. Import it again with FromStoredSamples, or train the range.");
        }

        ThresholdCalibration rows = calibration ?? summary.ThresholdPolicy.Calibration;
        LossStatistics losses = ThresholdPolicy.Select(rows, summary.Metrics, summary.ValidationMetrics);
        ThresholdPolicy policy = ThresholdPolicy.For(thresholdPercentile, rows, losses.Count);
        if (losses.SortedLosses.IsDefaultOrEmpty)
        {
            throw new ModelLoadingException(modelId, ModelLoadFailure.DamagedRecord, $"the record holds no {rows} losses to calibrate a threshold on.");
        }

        double threshold = policy.ThresholdFrom(losses);
        byte[] bytes = await checkpoints.ReadAsync(modelId, source.CheckpointPath, SafetensorsCheckpoint.MaxFileBytes(summary.Architecture), cancellationToken).ConfigureAwait(false);
        _ = CheckpointCodec.Decode(modelId, bytes, source.CheckpointSha256, summary.Architecture); // never copy a damaged checkpoint into a new version

        TrainingSummary recalibrated = summary with
        {
            Config = summary.Config with { ThresholdPercentile = thresholdPercentile, ThresholdCalibration = rows },
            ThresholdPolicy = policy,
        };
        ModelRecord record = await training.RecordAsync(
            source with
            {
                Id = Guid.NewGuid(),
                ParametersJson = ModelParameters.ToJson(recalibrated),
                Threshold = threshold,
                CreatedUtc = DateTime.UtcNow,
                CheckpointPath = string.Empty,
            },
            bytes,
            cancellationToken).ConfigureAwait(false);
        ManagerLog.ModelRecalibrated(logger, record.Id, modelId, thresholdPercentile, rows, source.Threshold, threshold);
        return ModelInfo.From(record, recalibrated);
    }

    public async Task<int> RemoveOrphanedCheckpointsAsync(TimeSpan gracePeriod, CancellationToken cancellationToken)
    {
        HashSet<string> referenced = [.. await store.ListCheckpointLocationsAsync(cancellationToken).ConfigureAwait(false)]; // damaged records' files included
        int removed = await checkpoints.RemoveOrphansAsync(referenced.Contains, gracePeriod, cancellationToken).ConfigureAwait(false);
        ManagerLog.OrphansRemoved(logger, removed);
        return removed;
    }

    private async Task ChangeAsync(Guid modelId, Func<Guid, CancellationToken, Task<bool>> change, bool evict, CancellationToken cancellationToken)
    {
        try
        {
            if (!await change(modelId, cancellationToken).ConfigureAwait(false))
            {
                throw new ModelNotFoundException(modelId);
            }
        }
        finally
        {
            models.Invalidate();
            if (evict)
            {
                models.Evict(modelId);
            }
        }
    }
}
