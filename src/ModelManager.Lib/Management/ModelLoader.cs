using AgeGroupAnomaly.Compute;
using System.Diagnostics;
using AgeGroupAnomaly.Checkpoints;
using AgeGroupAnomaly.Modeling;
using AgeGroupAnomaly.Scoring;
using AgeGroupAnomaly.Storage;
using AgeGroupAnomaly.Training;
using Microsoft.Extensions.Logging;

namespace AgeGroupAnomaly.Management;

/// <summary>
/// Turns a model id into a <see cref="LoadedModel"/>: record, parameters, verified checkpoint and
/// kernel. Problems come in the order a reader meets them: unknown id, parameters, missing file,
/// checksum, file content; each is a <see cref="ModelLoadingException"/>.
/// </summary>
internal sealed class ModelLoader(IModelStore store, ICheckpointStore checkpoints, SecondCore? secondCore, ILogger logger, bool compactWeights = false)
{
    public async Task<LoadedModel> LoadAsync(Guid id)
    {
        var watch = Stopwatch.StartNew();
        try
        {
            // Shared by every caller waiting for this model, so no single caller's token applies.
            ModelRecord record = await store.GetModelAsync(id, CancellationToken.None).ConfigureAwait(false) ?? throw new ModelNotFoundException(id);
            TrainingSummary training = ModelParameters.Parse(id, record.ParametersJson);
            long maxBytes = SafetensorsCheckpoint.MaxFileBytes(training.Architecture); // never read more than the record's architecture allows
            byte[] bytes = await checkpoints.ReadAsync(id, record.CheckpointPath, maxBytes, CancellationToken.None).ConfigureAwait(false);
            ModelWeights weights = CheckpointCodec.Decode(id, bytes, record.CheckpointSha256, training.Architecture);
            if (weights.Architecture.InputSize != record.EmbeddingDimension)
            {
                throw new ModelLoadingException(id, ModelLoadFailure.ArchitectureMismatch, $"the checkpoint takes {weights.Architecture.InputSize} values but the record says {record.EmbeddingDimension}.");
            }

            var loaded = new LoadedModel(record, training.Metrics, weights, secondCore, compactWeights);
            ManagerLog.ModelLoaded(logger, id, watch.Elapsed.TotalMilliseconds);
            return loaded;
        }
        catch (ModelLoadingException ex)
        {
            ManagerLog.ModelLoadFailed(logger, id, ex.Reason, ex);
            throw;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The store or the checkpoint store failed (unreachable database, disposed store, I/O): still a failed load.
            var failure = new ModelLoadingException(id, ModelLoadFailure.StoreUnavailable, ex.Message, ex);
            ManagerLog.ModelLoadFailed(logger, id, failure.Reason, failure);
            throw failure;
        }
    }
}
