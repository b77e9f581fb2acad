using AgeGroupAnomaly.Management;
using AgeGroupAnomaly.Storage;
using FluentAssertions;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests.Management;

[TestFixture]
public sealed class AgeGroupPlannerTests
{
    [TestCase(1e300)]
    [TestCase(double.MaxValue)]
    [TestCase(2147483647.5)]
    [TestCase(151.0)]
    [TestCase(double.PositiveInfinity)]
    [TestCase(double.NaN)]
    [TestCase(-1.0)]
    public void Plan_WithAnAgeOutsideTheAcceptedRange_LeavesItOutAndPlansTheRest(double absurd)
    {
        double[] ages = [.. Enumerable.Repeat(4.0, 10), absurd, .. Enumerable.Repeat(7.0, 10)];

        IReadOnlyList<AgeGroupPlan> plan = AgeGroupPlanner.Plan(ages, new AgeGroupPlanOptions { MinSamples = 10, MaxSpanYears = 2 });

        plan.Should().Equal(new AgeGroupPlan(4, 4, 10, true), new AgeGroupPlan(7, 7, 10, true));
    }

    [Test]
    public void Plan_AtTheOldestAcceptedAgeWithTheWidestSpan_DoesNotOverflow()
    {
        double[] ages = [0, NewSample.MaxAgeYears, NewSample.MaxAgeYears];

        IReadOnlyList<AgeGroupPlan> plan = AgeGroupPlanner.Plan(ages, new AgeGroupPlanOptions { MinSamples = 2, MaxSpanYears = int.MaxValue });

        plan.Should().Equal(new AgeGroupPlan(0, 150, 3, true));
    }
}
