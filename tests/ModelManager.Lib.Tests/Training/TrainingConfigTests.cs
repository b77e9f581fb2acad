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

    private static IEnumerable<TestCaseData> InvalidConfigs() =>
        InvalidTrainingConfigs.All.Select(c => new TestCaseData(c.Config, c.Field, c.Fragment).SetArgDisplayNames($"{c.Field}: {c.Fragment}"));

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

    [TestCase("cuda")]
    [TestCase("cuda:0")]
    public void ResolveDevice_Cuda_OnTheCpuOnlyPackage_SaysWhatToAdd(string device)
    {
        Action resolve = () => (TrainingConfig.Default with { Device = device }).ResolveDevice();

        resolve.Should().Throw<ArgumentException>()
            .WithMessage("*only the CPU build of libtorch*TorchSharp-cuda-linux*")
            .And.ParamName.Should().Be("Device");
    }
}
