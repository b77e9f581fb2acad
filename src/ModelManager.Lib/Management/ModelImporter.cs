using System.Globalization;
using AgeGroupAnomaly.Checkpoints;
using AgeGroupAnomaly.Import;
using AgeGroupAnomaly.Storage;
using AgeGroupAnomaly.Training;
using Microsoft.Extensions.Logging;

namespace AgeGroupAnomaly.Management;

/// <summary>
/// Imports a model trained by the original PyTorch service: reads and checks the file, calibrates
/// the threshold, then stores it through the same checkpoint-then-record path as a training
/// (<see cref="TrainingCoordinator.RecordAsync"/>), so it becomes the active model of its range.
/// </summary>
internal sealed class ModelImporter(IModelStore store, TrainingCoordinator training, ILogger logger)
{
    public async Task<AgeGroupTrainingResult> ImportAsync(string path, double ageMin, double ageMax, PyTorchImportCalibration calibration, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(calibration);
        StoreValidation.Range(ageMin, ageMax);
        await training.CheckOverlapAsync(ageMin, ageMax, null, cancellationToken).ConfigureAwait(false); // fail before reading anything

        byte[] file = await PyTorchStateDictReader.ReadFileAsync(path, cancellationToken).ConfigureAwait(false);
        ImportedStateDict imported = PyTorchStateDictReader.Read(file, path);
        IReadOnlyList<SampleRecord> samples = calibration.UsesStoredSamples
            ? await store.GetSamplesAsync(ageMin, ageMax, cancellationToken).ConfigureAwait(false)
            : [];
        string range = string.Create(CultureInfo.InvariantCulture, $"[{ageMin}, {ageMax}]");
        TrainingResult result = ImportedModel.Describe(imported, calibration, [.. samples.Select(s => s.Embedding)], range);

        // The same path as a training: checkpoint first, then the record that activates it (TrainingCoordinator.RecordAsync).
        (byte[] bytes, string sha256) = CheckpointCodec.Encode(result.Weights);
        ModelRecord record = await training.RecordAsync(
            new ModelRecord
            {
                Id = Guid.NewGuid(),
                AgeMin = ageMin,
                AgeMax = ageMax,
                EmbeddingDimension = result.Architecture.InputSize,
                ParametersJson = ModelParameters.ToJson(result),
                SampleCount = samples.Count,
                Threshold = result.Threshold,
                CreatedUtc = DateTime.UtcNow,
                IsActive = true,
                CheckpointPath = string.Empty, // set once the checkpoint is written
                CheckpointSha256 = sha256,
            },
            bytes,
            cancellationToken).ConfigureAwait(false);

        ImportLog.Imported(logger, record.Id, path, imported.Form, result.Architecture, ageMin, ageMax, result.Threshold, imported.IgnoredKeys);
        return new AgeGroupTrainingResult(ModelInfo.From(record, result), result, new CheckpointInfo(record.CheckpointPath, sha256));
    }
}

internal static partial class ImportLog
{
    [LoggerMessage(EventId = 2200, Level = LogLevel.Information, Message = "Model {ModelId} imported from {Path} ({Form}): {Architecture} for ages [{AgeMin}, {AgeMax}], threshold {Threshold:G6}; keys beside the state dict, not used: [{IgnoredKeys}]")]
    public static partial void Imported(ILogger logger, Guid modelId, string path, string form, Modeling.ArchitectureInfo architecture, double ageMin, double ageMax, double threshold, IReadOnlyList<string> ignoredKeys);
}
