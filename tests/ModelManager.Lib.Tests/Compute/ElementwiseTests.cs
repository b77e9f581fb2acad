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

    // Special values in every position of a vector and of the scalar tail (37 = several vectors of
    // any width plus a tail), compared by bits so −0 and +0 or two NaNs are told apart.
    private static readonly float[] Specials = [float.NaN, -0f, 0f, 1.5f, -2.25f, float.PositiveInfinity, float.NegativeInfinity, float.Epsilon, -float.Epsilon, 3e38f, 1e-3f];

    [Test]
    public void ReluDropout_EqualsTheScalarDefinitionBitForBit_ForSpecialValuesAndThresholdBits()
    {
        const uint threshold = 0x1999999A; // p = 0.1
        uint[] boundaryBits = [0, threshold - 1, threshold, threshold + 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF];
        float[] values = [.. Enumerable.Range(0, 37).Select(i => Specials[i % Specials.Length])];
        uint[] bits = [.. Enumerable.Range(0, 37).Select(i => boundaryBits[(i * 3) % boundaryBits.Length])];
        float[] expected = [.. values.Select((v, i) => Math.Max(v, 0f) * (bits[i] >= threshold ? 1.25f : 0f))];

        Elementwise.ReluDropout(values, bits, threshold, 1.25f);

        values.Select(BitConverter.SingleToInt32Bits).Should().Equal(expected.Select(BitConverter.SingleToInt32Bits));
        values.Where((v, i) => bits[i] < threshold).Should().OnlyContain(v => v == 0 || float.IsNaN(v), "dropped units are zero (NaN stays NaN)");
    }

    [Test]
    public void ScaledDifference_EqualsTheScalarDefinitionBitForBit_ForSpecialValues()
    {
        float[] y = [.. Enumerable.Range(0, 37).Select(i => Specials[i % Specials.Length])];
        float[] x = [.. Enumerable.Range(0, 37).Select(i => Specials[(i * 5 + 2) % Specials.Length])];
        float[] expected = [.. y.Select((v, i) => (v - x[i]) * 0.125f)];
        float[] result = new float[37];

        Elementwise.ScaledDifference(y, x, 0.125f, result);

        result.Select(BitConverter.SingleToInt32Bits).Should().Equal(expected.Select(BitConverter.SingleToInt32Bits));
    }

    [Test]
    public void KeepWherePositive_EqualsTheScalarDefinitionBitForBit_ForSpecialValues()
    {
        float[] gradient = [.. Enumerable.Range(0, 37).Select(i => Specials[(i * 7 + 1) % Specials.Length])];
        float[] output = [.. Enumerable.Range(0, 37).Select(i => Specials[i % Specials.Length])];
        float[] expected = [.. gradient.Select((g, i) => output[i] > 0 ? g * 1.25f : 0f)];

        Elementwise.KeepWherePositive(gradient, output, 1.25f);

        gradient.Select(BitConverter.SingleToInt32Bits).Should().Equal(expected.Select(BitConverter.SingleToInt32Bits));
    }

    // Lengths below one block of sixteen, whole blocks, and blocks with a tail.
    [TestCase(0)]
    [TestCase(5)]
    [TestCase(16)]
    [TestCase(37)]
    [TestCase(832)]
    public void SquaredDistance_AddsSixteenPartialSumsPairwiseThenTheTail_OnThisPath(int length)
    {
        var rng = new Random(length + 1);
        float[] x = [.. Enumerable.Range(0, length).Select(_ => (float)((rng.NextDouble() * 4) - 2))];
        float[] y = [.. Enumerable.Range(0, length).Select(_ => (float)((rng.NextDouble() * 4) - 2))];
        double[] p = new double[16];
        int blocks = length / 16 * 16;
        for (int i = 0; i < blocks; i++)
        {
            double d = (double)x[i] - y[i];
            p[i % 16] += d * d;
        }

        double expected = (((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7])))
            + (((p[8] + p[9]) + (p[10] + p[11])) + ((p[12] + p[13]) + (p[14] + p[15])));
        for (int i = blocks; i < length; i++)
        {
            double d = (double)x[i] - y[i];
            expected += d * d;
        }

        // Exactly this order on every path (CI runs it on each), so a training's loss does not depend on the processor.
        Elementwise.SquaredDistance(x, y).Should().Be(expected);
        expected.Should().BeApproximately(x.Zip(y, (a, b) => Math.Pow((double)a - b, 2)).Sum(), 1e-9);
    }
}
