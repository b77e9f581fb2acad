using AgeGroupAnomaly.Training;
using AgeGroupAnomaly.Compute;
using AgeGroupAnomaly.Scoring;
using FluentAssertions;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests.Compute;

[TestFixture]
public sealed class PercentilesTests
{
    private static readonly double[] Ten = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

    [TestCase(95, 10)] // floor(9.5) = 9
    [TestCase(50, 6)]  // floor(5) = 5
    [TestCase(100, 10)] // clamped to n - 1
    [TestCase(1, 1)]
    public void ByIndexRule_TakesSortedAtFloorOfPTimesN(double percent, double expected)
    {
        Percentiles.ByIndexRule(Ten, percent).Should().Be(expected);
    }

    [TestCase(0.5, 0)]
    [TestCase(5, 45)]
    [TestCase(5.5, 50)]
    [TestCase(11, 100)]
    public void RankOf_CountsValuesBelowAndHalfOfTies(double value, double expected)
    {
        Percentiles.RankOf(Ten, value).Should().Be(expected);
    }

    [Test]
    public void ErrorStatistics_FromErrors_UsesSampleStdAndTheIndexRule()
    {
        LossStatistics s = LossStatistics.FromLosses([4, 1, 3, 2]);

        s.Mean.Should().Be(2.5);
        s.Std.Should().BeApproximately(Math.Sqrt(5.0 / 3), 1e-12);
        s.Min.Should().Be(1);
        s.Max.Should().Be(4);
        s.Percentile95.Should().Be(4);
        s.SortedLosses.Should().Equal(1, 2, 3, 4);
    }
}
