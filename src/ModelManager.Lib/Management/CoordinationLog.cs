using Microsoft.Extensions.Logging;

namespace AgeGroupAnomaly.Management;

/// <summary>Log messages of the coordination between instances (training locks, shared TrainAll).</summary>
internal static partial class ManagerLog
{
    [LoggerMessage(EventId = 2020, Level = LogLevel.Information, Message = "Training for ages [{AgeMin}, {AgeMax}] skipped: another training (maybe in another instance) holds that range's training lock")]
    public static partial void TrainingSkippedLockHeld(ILogger logger, double ageMin, double ageMax);

    [LoggerMessage(EventId = 2021, Level = LogLevel.Information, Message = "Training for ages [{AgeMin}, {AgeMax}] skipped: its active model changed to {ModelId} since this TrainAll began (retrained or activated elsewhere)")]
    public static partial void TrainingSkippedRetrainedElsewhere(ILogger logger, double ageMin, double ageMax, Guid modelId);
}
