using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using AgeGroupAnomaly.Checkpoints;
using AgeGroupAnomaly.Modeling;
using FluentAssertions;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests.Checkpoints;

[TestFixture]
public sealed class SafetensorsCheckpointTests
{
    private static ModelWeights Read(byte[] bytes, ModelArchitecture? expected = null) =>
        SafetensorsCheckpoint.Read(new MemoryStream(bytes), Guid.Empty, expected);

    [Test]
    public void SerializeThenRead_ReturnsBitIdenticalWeights()
    {
        ModelWeights weights = CheckpointTestData.Weights();

        ModelWeights read = Read(SafetensorsCheckpoint.Serialize(weights));

        read.BitwiseEquals(weights).Should().BeTrue();
        read.Architecture.Should().Be(weights.Architecture);
    }

    [Test]
    public void Serialize_FollowsTheSafetensorsLayout()
    {
        byte[] bytes = SafetensorsCheckpoint.Serialize(CheckpointTestData.Weights());

        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        (headerLength % 8).Should().Be(0);
        using JsonDocument header = JsonDocument.Parse(Encoding.UTF8.GetString(bytes, 8, (int)headerLength));
        JsonElement root = header.RootElement;
        root.EnumerateObject().Select(p => p.Name).Should().Equal(
            "__metadata__", "encoder.0.weight", "encoder.0.bias", "encoder.3.weight", "encoder.3.bias",
            "decoder.0.weight", "decoder.0.bias", "decoder.3.weight", "decoder.3.bias");
        JsonElement metadata = root.GetProperty("__metadata__");
        metadata.EnumerateObject().Should().OnlyContain(p => p.Value.ValueKind == JsonValueKind.String, "safetensors metadata values are strings");
        metadata.GetProperty("format_version").GetString().Should().Be("1");
        metadata.GetProperty("input_size").GetString().Should().Be("6");
        metadata.GetProperty("hidden_sizes").GetString().Should().Be("[4,2]");
        metadata.GetProperty("dropout").GetString().Should().Be("0.1");
        JsonElement first = root.GetProperty("encoder.0.weight");
        first.GetProperty("dtype").GetString().Should().Be("F32");
        first.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).Should().Equal(4, 6);
        first.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).Should().Equal(0, 96);
        long dataLength = bytes.Length - 8 - (long)headerLength;
        root.GetProperty("decoder.3.bias").GetProperty("data_offsets")[1].GetInt64().Should().Be(dataLength);
        BitConverter.ToSingle(bytes, 8 + (int)headerLength + 4).Should().Be(float.Epsilon, "data is raw little-endian float32");
    }

    [TestCase(0)]
    [TestCase(5)]
    [TestCase(8)]
    [TestCase(40)]
    [TestCase(-1)]
    public void Read_TruncatedFile_ThrowsTruncatedOrMalformed(int cut)
    {
        byte[] bytes = SafetensorsCheckpoint.Serialize(CheckpointTestData.Weights());
        int length = cut >= 0 ? cut : bytes.Length - 3;

        FluentActions.Invoking(() => Read(bytes[..length]))
            .Should().Throw<ModelLoadingException>()
            .Which.Reason.Should().BeOneOf(ModelLoadFailure.Truncated, ModelLoadFailure.MalformedHeader, ModelLoadFailure.InvalidTensorLayout);
    }

    [Test]
    public void Read_HeaderThatIsNotJson_ThrowsMalformedHeader()
    {
        byte[] bytes = WithHeader("this is not json at all");

        FluentActions.Invoking(() => Read(bytes)).Should().Throw<ModelLoadingException>().Which.Reason.Should().Be(ModelLoadFailure.MalformedHeader);
    }

    [Test]
    public void Read_HeaderLengthBeyondTheFile_ThrowsTruncatedWithoutAllocatingIt()
    {
        byte[] bytes = SafetensorsCheckpoint.Serialize(CheckpointTestData.Weights());
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, ulong.MaxValue / 2);

        long before = GC.GetAllocatedBytesForCurrentThread();
        FluentActions.Invoking(() => Read(bytes)).Should().Throw<ModelLoadingException>().Which.Reason.Should().Be(ModelLoadFailure.Truncated);
        (GC.GetAllocatedBytesForCurrentThread() - before).Should().BeLessThan(bytes.Length + 64 * 1024);
    }

    [Test]
    public void Read_HugeShapesOrOffsetsPastTheEnd_ThrowInvalidLayoutWithoutAllocatingThem()
    {
        string huge = Header(CheckpointTestData.Weights()).Replace("[0,96]", "[0,400000000000]", StringComparison.Ordinal);
        byte[] bytes = WithHeader(huge, data: 10);

        long before = GC.GetAllocatedBytesForCurrentThread();
        FluentActions.Invoking(() => Read(bytes)).Should().Throw<ModelLoadingException>().Which.Reason.Should().Be(ModelLoadFailure.InvalidTensorLayout);
        (GC.GetAllocatedBytesForCurrentThread() - before).Should().BeLessThan(bytes.Length + 64 * 1024);
    }

    [Test]
    public void Read_ShapeInconsistentWithTheArchitecture_ThrowsInvalidLayout()
    {
        ModelWeights weights = CheckpointTestData.Weights();
        string header = Header(weights).Replace("\"shape\":[4,6]", "\"shape\":[6,4]", StringComparison.Ordinal);

        FluentActions.Invoking(() => Read(Rebuild(weights, header))).Should().Throw<ModelLoadingException>()
            .Which.Message.Should().Contain("encoder.0.weight").And.Contain("shape");
    }

    [Test]
    public void Read_UnknownFormatVersion_ThrowsUnsupportedFormat()
    {
        ModelWeights weights = CheckpointTestData.Weights();
        string header = Header(weights).Replace("\"format_version\":\"1\"", "\"format_version\":\"2\"", StringComparison.Ordinal);

        FluentActions.Invoking(() => Read(Rebuild(weights, header))).Should().Throw<ModelLoadingException>().Which.Reason.Should().Be(ModelLoadFailure.UnsupportedFormat);
    }

    [Test]
    public void Read_ArchitectureOtherThanExpected_ThrowsArchitectureMismatch()
    {
        byte[] bytes = SafetensorsCheckpoint.Serialize(CheckpointTestData.Weights());

        FluentActions.Invoking(() => Read(bytes, new ModelArchitecture(6, [4, 3], 0.1)))
            .Should().Throw<ModelLoadingException>().Which.Reason.Should().Be(ModelLoadFailure.ArchitectureMismatch);
    }

    private static string Header(ModelWeights weights)
    {
        byte[] bytes = SafetensorsCheckpoint.Serialize(weights);
        return Encoding.UTF8.GetString(bytes, 8, (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes)).TrimEnd();
    }

    private static byte[] Rebuild(ModelWeights weights, string header)
    {
        byte[] original = SafetensorsCheckpoint.Serialize(weights);
        int dataStart = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(original);
        return WithHeader(header, original[dataStart..]);
    }

    private static byte[] WithHeader(string header, int data) => WithHeader(header, new byte[data]);

    private static byte[] WithHeader(string header, byte[]? data = null)
    {
        data ??= [];
        byte[] json = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + json.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)json.Length);
        json.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + json.Length);
        return bytes;
    }
}
