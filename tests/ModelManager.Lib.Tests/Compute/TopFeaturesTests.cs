using AgeGroupAnomaly.Compute;
using FluentAssertions;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests.Compute;

[TestFixture]
public sealed class TopFeaturesTests
{
    [TestCase(1, 1)]
    [TestCase(3, 7)]
    [TestCase(3, 101)]
    [TestCase(5, 832)]
    [TestCase(64, 100)]
    public void TopFeatures_EqualsSortByErrorThenIndex_WithTiesAndRisingRuns(int k, int length)
    {
        // Rounded values make ties; a rising stretch makes the kept k-th value change often, and
        // long runs below it are skipped a vector at a time.
        var random = new Random(k * 1000 + length);
        double[] squared = [.. Enumerable.Range(0, length).Select(i => i % 97 < 9 ? i * 0.5 : Math.Round(random.NextDouble() * 20) / 4)];
        var top = new FeatureLoss[k];

        InferenceKernel.TopFeatures(squared, top);

        FeatureLoss[] expected = [.. squared.Select((e, i) => new FeatureLoss(i, e)).OrderByDescending(f => f.SquaredError).ThenBy(f => f.Index).Take(k)];
        top.Take(Math.Min(k, length)).Should().Equal(expected);
    }

    [Test]
    public void TopFeatures_WhenAllEqual_KeepsTheLowestIndices()
    {
        double[] squared = [.. Enumerable.Repeat(2.0, 40)];
        var top = new FeatureLoss[3];

        InferenceKernel.TopFeatures(squared, top);

        top.Should().Equal(new FeatureLoss(0, 2.0), new FeatureLoss(1, 2.0), new FeatureLoss(2, 2.0));
    }

    [Test]
    public void TopFeatures_WhenALargeValueFollowsALongLowRun_FindsIt()
    {
        double[] squared = new double[832];
        squared[0] = 1;
        squared[1] = 2;
        squared[2] = 3;
        squared[829] = 9; // in the tail after the last whole vector on some paths
        squared[517] = 5;

        var top = new FeatureLoss[3];
        InferenceKernel.TopFeatures(squared, top);

        top.Should().Equal(new FeatureLoss(829, 9), new FeatureLoss(517, 5), new FeatureLoss(2, 3));
    }
}
