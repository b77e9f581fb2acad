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

        config.HiddenSizes.Should().BeEmpty("empty means automatic");
        config.Standardize.Should().BeTrue();
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

    [Test]
    public void Original_HasTheOriginalServicesHiddenSizesAndNoStandardization()
    {
        TrainingConfig.Original.HiddenSizes.Should().Equal(256, 128, 64, 32);
        TrainingConfig.Original.Standardize.Should().BeFalse();
        TrainingConfig.Original.RelativeMinDelta.Should().BeFalse();
        TrainingConfig.Original.ResolveHiddenSizes(13).Should().Equal(256, 128, 64, 32);
    }

    [TestCase(832, new[] { 256, 128, 64, 32 })]
    [TestCase(512, new[] { 256, 128, 64, 32 })]
    [TestCase(511, new[] { 255, 127 })]
    [TestCase(64, new[] { 32, 16 })]
    [TestCase(30, new[] { 15, 7 })]
    [TestCase(13, new[] { 6, 3 })]
    [TestCase(6, new[] { 3, 2 })]
    [TestCase(2, new[] { 2, 2 })]
    [TestCase(1, new[] { 2, 2 })]
    public void AutomaticHiddenSizes_AreHalfAndQuarterOfTheInputClampedTo2_OrTheOriginalsFrom512On(int inputSize, int[] expected)
    {
        TrainingConfig.AutomaticHiddenSizes(inputSize).Should().Equal(expected);
        TrainingConfig.Default.ResolveHiddenSizes(inputSize).Should().Equal(expected);
        (TrainingConfig.Default with { HiddenSizes = default }).ResolveHiddenSizes(inputSize).Should().Equal(expected);
    }

    [Test]
    public void ResolveHiddenSizes_WithSizesSet_ReturnsThem() =>
        (TrainingConfig.Default with { HiddenSizes = [7, 5] }).ResolveHiddenSizes(100).Should().Equal(7, 5);

    [Test]
    public void Validate_WithAutomaticHiddenSizes_Passes()
    {
        (TrainingConfig.Default with { HiddenSizes = [] }).Invoking(c => c.Validate()).Should().NotThrow();
        (TrainingConfig.Default with { HiddenSizes = default }).Invoking(c => c.Validate()).Should().NotThrow();
    }

    [Test]
    public void Equals_TellsStandardizeApart() =>
        (TrainingConfig.Default with { Standardize = false }).Should().NotBe(TrainingConfig.Default);

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
