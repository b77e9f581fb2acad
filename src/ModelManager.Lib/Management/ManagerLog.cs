using Microsoft.Extensions.Logging;

namespace AgeGroupAnomaly.Management;

internal static partial class ManagerLog
{
    [LoggerMessage(EventId = 2000, Level = LogLevel.Information, Message = "Model {ModelId} trained for ages [{AgeMin}, {AgeMax}] on {SampleCount} samples; threshold {Threshold:G6}; now active")]
    public static partial void ModelRecorded(ILogger logger, Guid modelId, double ageMin, double ageMax, int sampleCount, double threshold);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Model {ModelId} activated")]
    public static partial void ModelActivated(ILogger logger, Guid modelId);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "Model {ModelId} deactivated")]
    public static partial void ModelDeactivated(ILogger logger, Guid modelId);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Information, Message = "Model {ModelId} deleted")]
    public static partial void ModelDeleted(ILogger logger, Guid modelId);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Warning, Message = "Recording model {ModelId} failed; its checkpoint {CheckpointPath} was removed again")]
    public static partial void RecordFailedCheckpointRemoved(ILogger logger, Guid modelId, string checkpointPath, Exception exception);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Information, Message = "Removed {Count} orphaned checkpoints")]
    public static partial void OrphansRemoved(ILogger logger, int count);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Information, Message = "Model {ModelId} for ages [{AgeMin}, {AgeMax}] replaces model {ReplacedModelId} as the active model of that range")]
    public static partial void ModelReplaced(ILogger logger, Guid modelId, double ageMin, double ageMax, Guid replacedModelId);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Warning, Message = "Model {ModelId} for ages [{AgeMin}, {AgeMax}] overlaps active model {OtherModelId} for [{OtherAgeMin}, {OtherAgeMax}] (allowed by AllowOverlappingRanges): shared ages go to the range with the greater AgeMin, then the newest model")]
    public static partial void OverlapAllowed(ILogger logger, Guid? modelId, double ageMin, double ageMax, Guid otherModelId, double otherAgeMin, double otherAgeMax);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Information, Message = "Training for ages [{AgeMin}, {AgeMax}] was cancelled (by the caller, the host stopping, or the manager's disposal); nothing was stored")]
    public static partial void TrainingCancelled(ILogger logger, double ageMin, double ageMax);
    [LoggerMessage(EventId = 2009, Level = LogLevel.Warning, Message = "Skipped model {ModelId} in the list: its record cannot be read")]
    public static partial void DamagedRecordSkipped(ILogger logger, Guid modelId, Exception exception);

    [LoggerMessage(EventId = 2010, Level = LogLevel.Error, Message = "Recording model {ModelId} failed and its checkpoint {CheckpointPath} could not be removed either; RemoveOrphanedCheckpointsAsync will remove it")]
    public static partial void CheckpointCleanupFailed(ILogger logger, Guid modelId, string checkpointPath, Exception exception);

    [LoggerMessage(EventId = 2020, Level = LogLevel.Information, Message = "Model {ModelId} recalibrated from model {SourceModelId}: threshold percentile {Percentile} on {Calibration}, threshold {OldThreshold} -> {NewThreshold}")]
    public static partial void ModelRecalibrated(ILogger logger, Guid modelId, Guid sourceModelId, double percentile, Training.ThresholdCalibration calibration, double oldThreshold, double newThreshold);

    [LoggerMessage(EventId = 3000, Level = LogLevel.Debug, Message = "Model {ModelId} loaded into the cache in {ElapsedMs} ms")]
    public static partial void ModelLoaded(ILogger logger, Guid modelId, double elapsedMs);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Error, Message = "Model {ModelId} could not be loaded: {Reason}")]
    public static partial void ModelLoadFailed(ILogger logger, Guid modelId, ModelLoadFailure reason, Exception exception);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Debug, Message = "Model cache cleared")]
    public static partial void CacheCleared(ILogger logger);
}
