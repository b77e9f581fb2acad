using AgeGroupAnomaly.Checkpoints;
using AgeGroupAnomaly.Storage;
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
