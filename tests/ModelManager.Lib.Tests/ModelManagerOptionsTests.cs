using FluentAssertions;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests;

[TestFixture]
public sealed class ModelManagerOptionsTests
{
    [TestCase(int.MaxValue - 2, 5)]
    [TestCase(int.MaxValue, 1)]
    [TestCase(1, int.MaxValue)]
    [TestCase(int.MaxValue, int.MaxValue)]
    public void Validate_SegmentEndingBeyondTheLongestEmbedding_ThrowsNamingTheSegment(int start, int length)
    {
        var options = new ModelManagerOptions { CheckpointDirectory = "x", Segments = [new EmbeddingSegment("far", start, length)] };

        options.Invoking(o => o.Validate()).Should().Throw<ArgumentOutOfRangeException>()
            .Where(e => e.ParamName == "Segments")
            .WithMessage($"Segment 'far' starts at {start} with {length} values, ending at {(long)start + length}*");
    }

    [Test]
    public void Validate_SegmentEndingAtTheLongestEmbedding_IsAccepted()
    {
        var options = new ModelManagerOptions { CheckpointDirectory = "x", Segments = [new EmbeddingSegment("edge", Array.MaxLength - 4, 4)] };

        options.Invoking(o => o.Validate()).Should().NotThrow();
    }

    [Test]
    public void End_OfASegmentPastIntMax_ThrowsInsteadOfWrapping()
    {
        var segment = new EmbeddingSegment("far", int.MaxValue - 2, 5);

        segment.Invoking(s => s.End).Should().Throw<OverflowException>();
        new EmbeddingSegment("near", 768, 64).End.Should().Be(832);
    }
}
