using Microsoft.Extensions.Logging;

namespace AgeGroupAnomaly.Training;

internal static partial class TrainingLog
{
    [LoggerMessage(EventId = 1000, Level = LogLevel.Information, Message = "Training {Rows} x {Dimension} embeddings ({TrainRows} train, {ValidationRows} validation), architecture {Architecture}, device {Device}")]
    public static partial void TrainingStarted(ILogger logger, int rows, int dimension, int trainRows, int validationRows, Modeling.ArchitectureInfo architecture, string device);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Debug, Message = "Epoch {Epoch}/{MaxEpochs}: train {TrainLoss:G6}, validation {ValidationLoss:G6}, learning rate {LearningRate:G4}")]
    public static partial void EpochCompleted(ILogger logger, int epoch, int maxEpochs, double trainLoss, double validationLoss, double learningRate);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Training stopped after {Epochs} epochs ({StopReason}); best validation loss {BestValidationLoss:G6} at epoch {BestEpoch}; threshold {Threshold:G6}; {ElapsedMs} ms")]
    public static partial void TrainingFinished(ILogger logger, int epochs, StopReason stopReason, double bestValidationLoss, int bestEpoch, double threshold, long elapsedMs);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning, Message = "Epoch {Epoch}: mean training loss is {TrainLoss}; stopping and keeping the best earlier epoch")]
    public static partial void NonFiniteTrainLoss(ILogger logger, int epoch, double trainLoss);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Warning, Message = "Epoch {Epoch}: validation loss {ValidationLoss:G6} exceeds the emergency limit; stopping")]
    public static partial void EmergencyStop(ILogger logger, int epoch, double validationLoss);
}
