using AgeGroupAnomaly.Modeling;
using FluentAssertions;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests.Modeling;

[TestFixture]
public sealed class InputStandardizerTests
{
    [Test]
    public void Fit_GivesEachFeaturesMeanAndPopulationStd()
    {
        // Feature 0: 1, 3 (mean 2, std 1); feature 1: 10, 30 (mean 20, std 10); feature 2: 0, 4 (mean 2, std 2).
        float[] rows = [1, 10, 0, 3, 30, 4];

        InputStandardizer s = InputStandardizer.Fit(rows, 3);

        s.Dimension.Should().Be(3);
        s.Mean.ToArray().Should().Equal(2f, 20f, 2f);
        s.Scale.ToArray().Should().Equal([1f, 10f, 2f], "the median std is 2, so the floor (1) changes nothing here");
    }

    [TestCase(1)]
    [TestCase(37)]
    [TestCase(832)]
    public void Fit_OnManyRows_EqualsTheScalarTwoPassFormulaBitForBit(int dimension)
    {
        // The fit sums a vector of features at a time; each lane must be the scalar loop's value.
        var rng = new Random(dimension);
        const int count = 203;
        float[] rows = [.. Enumerable.Range(0, count * dimension).Select(_ => (float)((rng.NextDouble() * 40) - 7))];
        double[] mean = new double[dimension], variance = new double[dimension];
        for (int r = 0; r < count; r++)
        {
            for (int j = 0; j < dimension; j++)
            {
                mean[j] += rows[(r * dimension) + j];
            }
        }

        for (int j = 0; j < dimension; j++)
        {
            mean[j] /= count;
        }

        for (int r = 0; r < count; r++)
        {
            for (int j = 0; j < dimension; j++)
            {
                double delta = rows[(r * dimension) + j] - mean[j];
                variance[j] += delta * delta;
            }
        }

        InputStandardizer s = InputStandardizer.Fit(rows, dimension);

        s.Mean.ToArray().Should().Equal(mean.Select(m => (float)m));
        s.Scale.ToArray().Should().Equal(variance.Select(v => (float)Math.Sqrt(v / count)), "uniform draws keep every std above half the median");
    }

    [Test]
    public void Fit_AConstantFeature_GetsTheFloorNotAZeroScale()
    {
        // Stds 0 (constant), 2, 4, 6: median 3, floor 1.5.
        float[] rows = [5, 0, 0, 0, 5, 4, 8, 12];

        InputStandardizer s = InputStandardizer.Fit(rows, 4);

        s.Scale.ToArray().Should().Equal(1.5f, 2f, 4f, 6f);
        s.Mean.ToArray()[0].Should().Be(5f);
        float[] z = new float[4];
        s.Apply([5, 0, 0, 0], z);
        z.Should().OnlyContain(v => float.IsFinite(v));
        z[0].Should().Be(0f);
    }

    [Test]
    public void Fit_ASmallScaleBelowTheFloor_IsRaisedToHalfTheMedian()
    {
        // Stds 0.01, 1, 1: median 1, floor 0.5.
        float[] rows = [0, 0, 0, 0.02f, 2, 2];

        InputStandardizer.Fit(rows, 3).Scale.ToArray().Should().Equal(0.5f, 1f, 1f);
    }

    [Test]
    public void Fit_EveryFeatureConstant_GetsScaleOne()
    {
        float[] rows = [3, 7, 3, 7, 3, 7];

        InputStandardizer s = InputStandardizer.Fit(rows, 2);

        s.Scale.ToArray().Should().Equal(1f, 1f);
        s.Mean.ToArray().Should().Equal(3f, 7f);
    }

    [Test]
    public void Apply_SubtractsTheMeanAndMultipliesByTheInverseScale()
    {
        var s = new InputStandardizer([1f, -2f], [4f, 0.5f]);
        float[] z = new float[2];

        s.Apply([3f, 1f], z);

        z.Should().Equal((3f - 1f) * (1f / 4f), (1f + 2f) * (1f / 0.5f));
    }

    [TestCase(1)]
    [TestCase(37)]
    [TestCase(832)]
    public void Apply_OnAnyLength_EqualsTheScalarFormulaBitForBit(int dimension)
    {
        // Vector lanes and the remainder loop must both give (x − mean) · (1 / scale) in float32.
        var rng = new Random(dimension);
        float[] mean = [.. Enumerable.Range(0, dimension).Select(_ => (float)((rng.NextDouble() * 200) - 100))];
        float[] scale = [.. Enumerable.Range(0, dimension).Select(_ => (float)(0.001 + (rng.NextDouble() * 50)))];
        float[] row = [.. Enumerable.Range(0, dimension).Select(_ => (float)((rng.NextDouble() * 400) - 200))];
        var s = new InputStandardizer(mean, scale);
        float[] z = new float[dimension];

        s.Apply(row, z);

        z.Should().Equal(Enumerable.Range(0, dimension).Select(j => (row[j] - mean[j]) * (1f / scale[j])));
    }

    [TestCase(0f)]
    [TestCase(-1f)]
    [TestCase(float.NaN)]
    [TestCase(float.PositiveInfinity)]
    public void Constructor_ScaleNotFinitePositive_Throws(float scale) =>
        FluentActions.Invoking(() => new InputStandardizer([0f], [scale])).Should().Throw<ArgumentException>().WithMessage("*Scale[0]*");

    [Test]
    public void Constructor_LengthsDiffer_Throws() =>
        FluentActions.Invoking(() => new InputStandardizer([0f, 1f], [1f])).Should().Throw<ArgumentException>();
}
