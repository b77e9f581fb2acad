using AgeGroupAnomaly.Compute;
using System.Diagnostics;
using AgeGroupAnomaly.Checkpoints;
using AgeGroupAnomaly.Modeling;
using AgeGroupAnomaly.Scoring;
using AgeGroupAnomaly.Storage;
using AgeGroupAnomaly.Telemetry;
using AgeGroupAnomaly.Training;
using Microsoft.Extensions.Logging;

namespace AgeGroupAnomaly.Management;

/// <summary>
/// Turns a model id into a <see cref="LoadedModel"/>: record, parameters, verified checkpoint and
/// kernel. Problems come in the order a reader meets them: unknown id, parameters, missing file,
/// checksum, file content; each is a <see cref="ModelLoadingException"/>.
/// </summary>
internal sealed class ModelLoader(IModelStore store, ICheckpointStore checkpoints, SecondCore? secondCore, ILogger logger, ModelManagerTelemetry? telemetry = null, bool compactWeights = false)
{
    public async Task<LoadedModel> LoadAsync(Guid id)
    {
        using Activity? activity = ModelManagerTelemetry.Activities.StartActivity("ModelManager.LoadModel");
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

            var loaded = new LoadedModel(record, training.ThresholdPolicy.CalibrationLosses(training), weights, secondCore, compactWeights);
            ManagerLog.ModelLoaded(logger, id, watch.Elapsed.TotalMilliseconds);
            telemetry?.Loaded();
            activity?.SetTag(ModelManagerTelemetry.AgeRangeTag, loaded.AgeRange);
            return loaded;
        }
        catch (ModelLoadingException ex)
        {
            ManagerLog.ModelLoadFailed(logger, id, ex.Reason, ex);
            Failed(activity, ex.Reason);
            throw;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The store or the checkpoint store failed (unreachable database, disposed store, I/O): still a failed load.
            var failure = new ModelLoadingException(id, ModelLoadFailure.StoreUnavailable, ex.Message, ex);
            ManagerLog.ModelLoadFailed(logger, id, failure.Reason, failure);
            Failed(activity, failure.Reason);
            throw failure;
        }
    }

    private void Failed(Activity? activity, ModelLoadFailure reason)
    {
        string type = reason.ToString();
        telemetry?.LoadFailed(type);
        activity?.SetStatus(ActivityStatusCode.Error, type).SetTag(ModelManagerTelemetry.ErrorTypeTag, type);
    }
}
