using AgeGroupAnomaly.Compute;
using AgeGroupAnomaly.Training;
using FluentAssertions;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests.Compute;

[TestFixture]
public sealed class FiniteValuesTests
{
    [TestCase(float.NaN, "NaN")]
    [TestCase(float.PositiveInfinity, "Infinity")]
    [TestCase(float.NegativeInfinity, "-Infinity")]
    public void EnsureFinite_WhenARowHoldsANonFiniteValue_NamesTheValueRowAndPosition(float value, string name)
    {
        // Three rows of 12: long enough for the eight-at-a-time check, the bad value in row 1.
        float[] values = [.. Enumerable.Range(0, 36).Select(i => i * 0.5f)];
        values[12 + 5] = value;

        FluentActions.Invoking(() => FiniteValues.EnsureFinite(values, 12, "Embedding"))
            .Should().Throw<InvalidEmbeddingException>()
            .Which.Message.Should().StartWith($"Embedding 1 holds {name} at position 5;");
    }
}
