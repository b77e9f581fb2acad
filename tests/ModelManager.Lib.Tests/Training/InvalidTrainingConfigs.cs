using AgeGroupAnomaly.Training;

namespace AgeGroupAnomaly.Tests.Training;

/// <summary>Every out-of-range <see cref="TrainingConfig"/> field, with the field name and a message fragment.</summary>
internal static class InvalidTrainingConfigs
{
    public static IReadOnlyList<(TrainingConfig Config, string Field, string Fragment)> All { get; } = Build();

    private static List<(TrainingConfig, string, string)> Build()
    {
        var d = TrainingConfig.Default;
        return
        [
            (d with { HiddenSizes = [16, 0] }, "HiddenSizes", "HiddenSizes[1] is 0"),
            (d with { HiddenSizes = [-4] }, "HiddenSizes", "-4"),
            (d with { LearningRate = 0 }, "LearningRate", "(0, 1]"),
            (d with { LearningRate = 1.5 }, "LearningRate", "1.5"),
            (d with { LearningRate = double.NaN }, "LearningRate", "NaN"),
            (d with { BatchSize = 0 }, "BatchSize", "at least 1"),
            (d with { Epochs = 0 }, "Epochs", "at least 1"),
            (d with { ValidationSplit = 0 }, "ValidationSplit", "[0.000001, 1)"),
            (d with { ValidationSplit = 1 }, "ValidationSplit", "[0.000001, 1)"),
            (d with { ValidationSplit = 1e-12 }, "ValidationSplit", "[0.000001, 1)"),
            (d with { ValidationSplit = double.Epsilon }, "ValidationSplit", "[0.000001, 1)"),
            (d with { ValidationSplit = 1e-9 }, "ValidationSplit", "1,000,000 rows"),
            (d with { EarlyStoppingPatience = -1 }, "EarlyStoppingPatience", "-1"),
            (d with { MinDelta = -0.1 }, "MinDelta", "-0.1"),
            (d with { Dropout = 1 }, "Dropout", "[0, 1)"),
            (d with { Dropout = -0.1 }, "Dropout", "[0, 1)"),
            (d with { ThresholdPercentile = 0 }, "ThresholdPercentile", "(0, 100]"),
            (d with { ThresholdPercentile = 100.5 }, "ThresholdPercentile", "100.5"),
            (d with { CpuThreads = 0 }, "CpuThreads", "at least 1"),
            (d with { Device = "tpu" }, "Device", "'tpu'"),
            (d with { Device = "cuda:x" }, "Device", "cuda:N"),
            (d with { Device = "cpu\n" }, "Device", "cuda:N"),
        ];
    }
}
