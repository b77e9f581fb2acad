using AgeGroupAnomaly.Compute;
using FluentAssertions;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests.Compute;

[TestFixture]
public sealed class ElementwiseTests
{
    [Test]
    public void Relu_ZeroesNegatives_KeepsPositives_AndPropagatesNaN_InVectorAndTailParts()
    {
        // 11 values: one vector of 8 and a tail of 3, with a NaN in each part.
        float[] values = [-1f, 2f, float.NaN, -0.5f, 3f, -7f, 0f, 1e-30f, -2f, float.NaN, 4f];

        Elementwise.Relu(values);

        values.Should().Equal([0f, 2f, float.NaN, 0f, 3f, 0f, 0f, 1e-30f, 0f, float.NaN, 4f], (a, b) => a.Equals(b));
    }

    [Test]
    public void AddTo_AddsElementwise_InVectorAndTailParts()
    {
        float[] sum = [.. Enumerable.Range(0, 11).Select(i => (float)i)];
        float[] values = [.. Enumerable.Range(0, 11).Select(i => 0.5f * i)];

        Elementwise.AddTo(sum, values);

        sum.Should().Equal(Enumerable.Range(0, 11).Select(i => 1.5f * i));
    }

    [Test]
    public void AddTo_WithDifferentLengths_ThrowsNamingTheLengths()
    {
        FluentActions.Invoking(() => Elementwise.AddTo(new float[3], new float[4]))
            .Should().Throw<ArgumentException>().WithMessage("4 values cannot be added to 3*");
    }
}
