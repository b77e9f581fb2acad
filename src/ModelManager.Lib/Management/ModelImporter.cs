using System.Globalization;
using AgeGroupAnomaly.Import;
using AgeGroupAnomaly.Storage;
using AgeGroupAnomaly.Training;
using Microsoft.Extensions.Logging;

namespace AgeGroupAnomaly.Management;

/// <summary>
/// Imports a model trained by the original PyTorch service: reads and checks the file, calibrates
/// the threshold, then stores it through the same checkpoint-then-record path as a training
/// (<see cref="TrainingCoordinator.RecordAsync(double, double, int, int, Training.TrainingResult, CancellationToken)"/>), so it becomes the active model of its range.
/// </summary>
internal sealed class ModelImporter(IModelStore store, TrainingCoordinator training, ILogger logger)
{
    public async Task<AgeGroupTrainingResult> ImportAsync(string path, double ageMin, double ageMax, PyTorchImportCalibration calibration, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(calibration);
        StoreValidation.Range(ageMin, ageMax);
        await training.CheckOverlapAsync(ageMin, ageMax, null, cancellationToken).ConfigureAwait(false); // fail before reading anything

        byte[] bytes = await PyTorchStateDictReader.ReadFileAsync(path, cancellationToken).ConfigureAwait(false);
        ImportedStateDict imported = PyTorchStateDictReader.Read(bytes, path);
        IReadOnlyList<SampleRecord> samples = calibration.UsesStoredSamples
            ? await store.GetSamplesAsync(ageMin, ageMax, cancellationToken).ConfigureAwait(false)
            : [];
        string range = string.Create(CultureInfo.InvariantCulture, $"[{ageMin}, {ageMax}]");
        TrainingResult result = ImportedModel.Describe(imported, calibration, [.. samples.Select(s => s.Embedding)], range);
        ImportLog.Imported(logger, path, imported.Form, result.Architecture, ageMin, ageMax, result.Threshold, imported.IgnoredKeys);

        return await training.RecordAsync(ageMin, ageMax, result.Architecture.InputSize, samples.Count, result, cancellationToken).ConfigureAwait(false);
    }
}

internal static partial class ImportLog
{
    [LoggerMessage(EventId = 2200, Level = LogLevel.Information, Message = "Imported {Path} ({Form}): {Architecture} for ages [{AgeMin}, {AgeMax}], threshold {Threshold:G6}; keys beside the state dict, not used: [{IgnoredKeys}]")]
    public static partial void Imported(ILogger logger, string path, string form, Modeling.ArchitectureInfo architecture, double ageMin, double ageMax, double threshold, IReadOnlyList<string> ignoredKeys);
}
