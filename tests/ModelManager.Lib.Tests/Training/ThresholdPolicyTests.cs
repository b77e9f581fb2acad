using AgeGroupAnomaly.Training;
using FluentAssertions;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests.Training;

public sealed class ThresholdPolicyTests
{
    private static LossStatistics OneTo(int n) => LossStatistics.FromLosses([.. Enumerable.Range(1, n).Select(i => (double)i)]);

    [TestCase(19, 95, 19)] // ceil(20 * 0.95) = 19: exactly, not 20 by rounding
    [TestCase(39, 95, 38)] // ceil(40 * 0.95) = 38
    [TestCase(24, 95, 24)] // ceil(23.75) = 24
    [TestCase(10, 50, 6)] // ceil(5.5) = 6
    [TestCase(10, 100, 10)]
    public void ThresholdFrom_ValidationRows_TakesTheSplitConformalRank(int n, double percentile, double expected)
    {
        ThresholdPolicy policy = ThresholdPolicy.For(percentile, ThresholdCalibration.ValidationRows, n);

        policy.ThresholdFrom(OneTo(n)).Should().Be(expected);
        policy.CalibrationCount.Should().Be(n);
        policy.Rule.Should().Contain("ceil((n+1)*p/100)");
    }

    [Test]
    public void ThresholdFrom_ValidationRows_WithTooFewRowsForTheRank_TakesTheLogNormalPredictionBound()
    {
        // 12 rows at 95: rank ceil(13 * 0.95) = 13 > 12. Expected value from scipy:
        // exp(mean(log x) + t.ppf(0.95, 11) * std(log x, ddof=1) * sqrt(1 + 1/12)) for x = 1..12.
        ThresholdPolicy policy = ThresholdPolicy.For(95, ThresholdCalibration.ValidationRows, 12);

        policy.ThresholdFrom(OneTo(12)).Should().BeApproximately(21.72411951753364, 1e-9);
        policy.ThresholdFrom(LossStatistics.FromLosses([2.0, 2.0, 2.0])).Should().Be(2, "identical losses have no spread, so the bound is the largest loss");
        policy.ThresholdFrom(LossStatistics.FromLosses([0.0, 1.0, 3.0])).Should().Be(3, "a zero loss has no logarithm: the largest loss");
        policy.ThresholdFrom(LossStatistics.FromLosses([4.0])).Should().Be(4);
        ThresholdPolicy.For(100, ThresholdCalibration.ValidationRows, 5).ThresholdFrom(OneTo(5)).Should().Be(5);
    }

    [TestCase(20, 95, 20)] // floor(0.95 * 20) = 19, zero-based
    [TestCase(120, 95, 115)] // floor(114)
    [TestCase(10, 50, 6)] // floor(5), zero-based
    public void ThresholdFrom_TrainingAndValidationRows_KeepsTheOriginalIndexRule(int n, double percentile, double expected)
    {
        ThresholdPolicy policy = ThresholdPolicy.For(percentile, ThresholdCalibration.TrainingAndValidationRows, n);

        policy.ThresholdFrom(OneTo(n)).Should().Be(expected);
        policy.Should().Be(ThresholdPolicy.ForPercentile(percentile) with { CalibrationCount = n });
    }

    [Test]
    public void NominalFalseAlarmRate_IsOneMinusThePercentile() =>
        ThresholdPolicy.For(95, ThresholdCalibration.ValidationRows, 10).NominalFalseAlarmRate.Should().BeApproximately(0.05, 1e-12);

    [TestCase(0)]
    [TestCase(-1)]
    [TestCase(100.5)]
    [TestCase(double.NaN)]
    public void For_APercentileOutsideZeroToHundred_IsRejectedNamingIt(double percentile) =>
        FluentActions.Invoking(() => ThresholdPolicy.For(percentile, ThresholdCalibration.ValidationRows, 10))
            .Should().Throw<ArgumentOutOfRangeException>().WithMessage("*percentile*(0, 100]*").Which.ParamName.Should().Be("percentile");

    [Test]
    public void CalibrationLosses_PicksTheRowsThePolicyNames()
    {
        using TrainedAutoencoder trained = new AutoencoderTrainer(TrainingConfig.Default with { HiddenSizes = [4, 2], Epochs = 2 }).Train(TestData.Embeddings(40, 8));
        TrainingResult r = trained.Result;

        r.ThresholdPolicy.CalibrationLosses(r).Should().BeSameAs(r.ValidationMetrics);
        (r.ThresholdPolicy with { Calibration = ThresholdCalibration.TrainingAndValidationRows }).CalibrationLosses(r).Should().BeSameAs(r.Metrics);
    }

    [Test]
    public void APolicyStoredBeforeTheCalibrationWasRecorded_ReadsAsTheOriginalAllRowsRule()
    {
        ThresholdPolicy old = System.Text.Json.JsonSerializer.Deserialize<ThresholdPolicy>("""{"Percentile":95,"Rule":"sorted[min(floor(p/100*n), n-1)]","CalibrationSet":"train+validation"}""")!;

        old.Calibration.Should().Be(ThresholdCalibration.TrainingAndValidationRows);
        old.ThresholdFrom(OneTo(20)).Should().Be(20);
    }
}
