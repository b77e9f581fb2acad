using AgeGroupAnomaly.Training;
using FluentAssertions;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests.Training;

[TestFixture]
public sealed class TrainingConfigTests
{
    [Test]
    public void Default_HasTheOriginalServicesValuesPlusTheAdditions()
    {
        var config = TrainingConfig.Default;

        config.HiddenSizes.Should().Equal(256, 128, 64, 32);
        config.LearningRate.Should().Be(0.001);
        config.BatchSize.Should().Be(32);
        config.Epochs.Should().Be(100);
        config.ValidationSplit.Should().Be(0.2);
        config.EarlyStoppingPatience.Should().Be(10);
        config.MinDelta.Should().Be(1e-4);
        config.Device.Should().Be("auto");
        config.Dropout.Should().Be(0.1);
        config.Seed.Should().Be(42);
        config.ThresholdPercentile.Should().Be(95);
        config.CpuThreads.Should().BeNull();
        config.Invoking(c => c.Validate()).Should().NotThrow();
    }

    private static IEnumerable<TestCaseData> InvalidConfigs()
    {
        var d = TrainingConfig.Default;
        yield return Case(d with { HiddenSizes = [] }, "HiddenSizes", "empty");
        yield return Case(d with { HiddenSizes = [16, 0] }, "HiddenSizes", "HiddenSizes[1] is 0");
        yield return Case(d with { HiddenSizes = [-4] }, "HiddenSizes", "-4");
        yield return Case(d with { LearningRate = 0 }, "LearningRate", "(0, 1]");
        yield return Case(d with { LearningRate = 1.5 }, "LearningRate", "1.5");
        yield return Case(d with { LearningRate = double.NaN }, "LearningRate", "NaN");
        yield return Case(d with { BatchSize = 0 }, "BatchSize", "at least 1");
        yield return Case(d with { Epochs = 0 }, "Epochs", "at least 1");
        yield return Case(d with { ValidationSplit = 0 }, "ValidationSplit", "(0, 1)");
        yield return Case(d with { ValidationSplit = 1 }, "ValidationSplit", "(0, 1)");
        yield return Case(d with { EarlyStoppingPatience = -1 }, "EarlyStoppingPatience", "-1");
        yield return Case(d with { MinDelta = -0.1 }, "MinDelta", "-0.1");
        yield return Case(d with { Dropout = 1 }, "Dropout", "[0, 1)");
        yield return Case(d with { Dropout = -0.1 }, "Dropout", "[0, 1)");
        yield return Case(d with { ThresholdPercentile = 0 }, "ThresholdPercentile", "(0, 100]");
        yield return Case(d with { ThresholdPercentile = 100.5 }, "ThresholdPercentile", "100.5");
        yield return Case(d with { CpuThreads = 0 }, "CpuThreads", "at least 1");
        yield return Case(d with { Device = "tpu" }, "Device", "'tpu'");
        yield return Case(d with { Device = "cuda:x" }, "Device", "cuda:N");

        static TestCaseData Case(TrainingConfig config, string field, string fragment) =>
            new TestCaseData(config, field, fragment).SetArgDisplayNames($"{field}: {fragment}");
    }

    [TestCaseSource(nameof(InvalidConfigs))]
    public void Validate_WithAnOutOfRangeField_ThrowsNamingTheFieldAndValue(TrainingConfig config, string field, string fragment)
    {
        config.Invoking(c => c.Validate()).Should().Throw<ArgumentException>()
            .Where(e => e.ParamName == field)
            .Where(e => e.Message.Contains(field, StringComparison.Ordinal) && e.Message.Contains(fragment, StringComparison.Ordinal));
    }

    [TestCase("auto")]
    [TestCase("cpu")]
    [TestCase("CPU")]
    [TestCase("cuda")]
    [TestCase("cuda:1")]
    public void Validate_AcceptsKnownDevices(string device)
    {
        (TrainingConfig.Default with { Device = device }).Invoking(c => c.Validate()).Should().NotThrow();
    }

    [Test]
    [NonParallelizable]
    public void ResolveDevice_Auto_PicksCpuWhenTorchReportsNoCuda()
    {
        TrainingConfig.Default.ResolveDevice().Should().Be(TorchSharp.torch.cuda.is_available() ? "cuda" : "cpu");
        (TrainingConfig.Default with { Device = "CPU" }).ResolveDevice().Should().Be("cpu");
    }
}
