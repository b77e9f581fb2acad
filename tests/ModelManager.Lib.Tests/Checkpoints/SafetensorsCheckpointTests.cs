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
    private static ModelWeights Read(byte[] bytes, ArchitectureInfo? expected = null) =>
        SafetensorsCheckpoint.Read(new MemoryStream(bytes), Guid.Empty, expected);

    [Test]
    public void SerializeThenRead_ReturnsBitIdenticalWeights()
    {
        ModelWeights weights = CheckpointTestData.Weights();

        ModelWeights read = Read(SafetensorsCheckpoint.Serialize(weights));

        read.BitwiseEquals(weights).Should().BeTrue();
        read.Architecture.Should().Be(weights.Architecture);
    }

    private static readonly float[] NonFiniteValues = [float.NaN, float.PositiveInfinity, float.NegativeInfinity];

    private static IEnumerable<TestCaseData> NonFiniteWeightCases()
    {
        foreach (float value in NonFiniteValues)
        {
            yield return new TestCaseData(value, 0, 0, true).SetArgDisplayNames($"{value} first weight of the first layer");
            yield return new TestCaseData(value, 1, 1, false).SetArgDisplayNames($"{value} in a bias of the second layer");
            yield return new TestCaseData(value, -1, -1, false).SetArgDisplayNames($"{value} last bias of the last layer");
        }
    }

    private static ModelWeights WithValue(float value, int layer, int index, bool weight)
    {
        ModelWeights weights = CheckpointTestData.Weights();
        LayerWeights target = weights.Layers[layer >= 0 ? layer : weights.Layers.Count - 1];
        float[] values = weight ? target.Weight : target.Bias;
        values[index >= 0 ? index : values.Length - 1] = value;
        return weights;
    }

    [TestCaseSource(nameof(NonFiniteWeightCases))]
    public void Serialize_NonFiniteWeight_ThrowsNonFiniteWeightsNamingTheTensor(float value, int layer, int index, bool weight)
    {
        ModelWeights weights = WithValue(value, layer, index, weight);

        FluentActions.Invoking(() => SafetensorsCheckpoint.Serialize(weights))
            .Should().Throw<NonFiniteWeightsException>()
            .Where(e => e.TensorName != null && e.Index != null)
            .WithMessage($"Tensor '*' holds {value.ToString(System.Globalization.CultureInfo.InvariantCulture)} at position *");
        FluentActions.Invoking(() => CheckpointCodec.Encode(weights)).Should().Throw<NonFiniteWeightsException>();
    }

    [TestCaseSource(nameof(NonFiniteWeightCases))]
    public void Read_NonFiniteWeight_ThrowsNonFiniteWeights(float value, int layer, int index, bool weight)
    {
        // Written by hand (Serialize refuses such weights), as a foreign tool could.
        byte[] file = CheckpointTestData.NameSortedFile(WithValue(value, layer, index, weight));

        FluentActions.Invoking(() => Read(file, CheckpointTestData.Architecture))
            .Should().Throw<ModelLoadingException>().Where(e => e.Reason == ModelLoadFailure.NonFiniteWeights)
            .WithMessage("*tensor '*' holds*");
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
        string header = Header(weights).Replace("\"format_version\":\"1\"", "\"format_version\":\"3\"", StringComparison.Ordinal);

        FluentActions.Invoking(() => Read(Rebuild(weights, header))).Should().Throw<ModelLoadingException>().Which.Reason.Should().Be(ModelLoadFailure.UnsupportedFormat);
    }

    [Test]
    public void Read_ArchitectureOtherThanExpected_ThrowsArchitectureMismatch()
    {
        byte[] bytes = SafetensorsCheckpoint.Serialize(CheckpointTestData.Weights());

        FluentActions.Invoking(() => Read(bytes, new ArchitectureInfo(6, [4, 3], 0.1)))
            .Should().Throw<ModelLoadingException>().Which.Reason.Should().Be(ModelLoadFailure.ArchitectureMismatch);
    }

    private static readonly ArchitectureInfo DefaultLike = new(16, [8, 4], 0.1);

    // Encoder and decoder layers have the same shapes, so reading them swapped still fits the architecture.
    private static readonly ArchitectureInfo Symmetric = new(8, [8], 0.1);

    [Test]
    public void Read_WhenTensorsAreSortedByName_ReturnsTheSameWeights()
    {
        ModelWeights weights = CheckpointTestData.Weights(seed: 3, DefaultLike);

        ModelWeights read = Read(CheckpointTestData.NameSortedFile(weights));

        read.Architecture.Should().Be(DefaultLike);
        read.BitwiseEquals(weights).Should().BeTrue();
    }

    [Test]
    public void Read_WhenTensorsOfASymmetricModelAreSortedByName_ReturnsTheSameWeights()
    {
        ModelWeights weights = CheckpointTestData.Weights(seed: 4, Symmetric);

        ModelWeights read = Read(CheckpointTestData.NameSortedFile(weights), Symmetric);

        read.BitwiseEquals(weights).Should().BeTrue("encoder.0 must not be read from decoder.0's data, nor a weight from its bias's");
    }

    [Test]
    public void Read_WhenTensorsAreInReverseOrder_ReturnsTheSameWeights()
    {
        ModelWeights weights = CheckpointTestData.Weights(seed: 5, DefaultLike);

        ModelWeights read = Read(CheckpointTestData.HandWrittenFile(DefaultLike, weights.NamedTensors().Reverse()));

        read.BitwiseEquals(weights).Should().BeTrue();
    }

    [Test]
    public void Read_WhenATensorAppearsTwiceInTheHeader_ThrowsInvalidLayoutNamingIt()
    {
        ModelWeights weights = CheckpointTestData.Weights(seed: 3, DefaultLike);
        byte[] bytes = CheckpointTestData.HandWrittenFile(
            DefaultLike,
            weights.NamedTensors(),
            (name, entry) => name == "encoder.0.bias" ? entry + "," + entry : entry); // same offsets twice: the layout alone is consistent

        ShouldFail(bytes, ModelLoadFailure.InvalidTensorLayout, "encoder.0.bias", "more than once");
    }

    [Test]
    public void Read_WhenATensorIsMissing_ThrowsInvalidLayoutNamingIt()
    {
        ModelWeights weights = CheckpointTestData.Weights(seed: 3, DefaultLike);
        byte[] bytes = CheckpointTestData.HandWrittenFile(
            DefaultLike,
            weights.NamedTensors().Where(t => t.Name != "decoder.3.weight").OrderBy(t => t.Name, StringComparer.Ordinal));

        ShouldFail(bytes, ModelLoadFailure.InvalidTensorLayout, "decoder.3.weight", "missing");
    }

    [Test]
    public void Read_WhenTheFileHoldsAnExtraTensor_ThrowsInvalidLayoutNamingIt()
    {
        ModelWeights weights = CheckpointTestData.Weights(seed: 3, DefaultLike);
        byte[] bytes = CheckpointTestData.HandWrittenFile(
            DefaultLike,
            weights.NamedTensors().Append(("encoder.6.bias", [4], new float[4])).OrderBy(t => t.Name, StringComparer.Ordinal));

        ShouldFail(bytes, ModelLoadFailure.InvalidTensorLayout, "encoder.6.bias", "unexpected");
    }

    [Test]
    public void Read_WhenANameSortedTensorHasTheWrongShape_ThrowsInvalidLayoutNamingIt()
    {
        ModelWeights weights = CheckpointTestData.Weights(seed: 4, Symmetric);
        byte[] bytes = CheckpointTestData.HandWrittenFile(
            Symmetric,
            weights.NamedTensors().OrderBy(t => t.Name, StringComparer.Ordinal),
            (name, entry) => name == "decoder.0.bias" ? entry.Replace("\"shape\":[8]", "\"shape\":[2,4]", StringComparison.Ordinal) : entry);

        ShouldFail(bytes, ModelLoadFailure.InvalidTensorLayout, "decoder.0.bias", "shape [2, 4], expected [8]");
    }

    [Test]
    public void Read_WhenATensorHasNoDtype_ThrowsMalformedHeaderNamingTheTensorAndTheField()
    {
        ModelWeights weights = CheckpointTestData.Weights(seed: 3, DefaultLike);
        byte[] bytes = CheckpointTestData.HandWrittenFile(
            DefaultLike,
            weights.NamedTensors(),
            (name, entry) => name == "encoder.3.weight" ? entry.Replace("\"dtype\":\"F32\",", string.Empty, StringComparison.Ordinal) : entry);

        ShouldFail(bytes, ModelLoadFailure.MalformedHeader, "tensor 'encoder.3.weight' has no 'dtype' field");
    }

    [Test]
    public void Read_WhenDataOffsetsAreStrings_ThrowsMalformedHeaderNamingTheTensorAndTheField()
    {
        ModelWeights weights = CheckpointTestData.Weights(seed: 3, DefaultLike);
        byte[] bytes = CheckpointTestData.HandWrittenFile(
            DefaultLike,
            weights.NamedTensors(),
            (name, entry) => name == "encoder.0.weight" ? entry.Replace("\"data_offsets\":[0,512]", "\"data_offsets\":[\"0\",\"512\"]", StringComparison.Ordinal) : entry);

        ShouldFail(bytes, ModelLoadFailure.MalformedHeader, "tensor 'encoder.0.weight' field 'data_offsets'", "\"0\" at index 0", "integer");
    }

    [Test]
    public void Read_WhenTheShapeIsAString_ThrowsMalformedHeaderNamingTheTensorAndTheField()
    {
        ModelWeights weights = CheckpointTestData.Weights(seed: 3, DefaultLike);
        byte[] bytes = CheckpointTestData.HandWrittenFile(
            DefaultLike,
            weights.NamedTensors(),
            (name, entry) => name == "decoder.0.bias" ? entry.Replace("\"shape\":[8]", "\"shape\":\"8\"", StringComparison.Ordinal) : entry);

        ShouldFail(bytes, ModelLoadFailure.MalformedHeader, "tensor 'decoder.0.bias' field 'shape' is a JSON string, expected a JSON array");
    }

    private static ModelWeights Standardized()
    {
        ModelWeights weights = CheckpointTestData.Weights();
        return weights.WithStandardizer(new InputStandardizer([0.5f, -1f, 2f, 0f, 3.25f, -0.125f], [1f, 0.25f, 4f, 1.5f, 2f, 0.75f]));
    }

    [Test]
    public void SerializeThenRead_WithAStandardizer_ReturnsItBitIdentical()
    {
        ModelWeights weights = Standardized();

        ModelWeights read = Read(SafetensorsCheckpoint.Serialize(weights), CheckpointTestData.Architecture);

        read.Standardizer.Should().NotBeNull();
        read.Standardizer!.Mean.ToArray().Should().Equal(weights.Standardizer!.Mean.ToArray());
        read.Standardizer.Scale.ToArray().Should().Equal(weights.Standardizer.Scale.ToArray());
        read.BitwiseEquals(weights).Should().BeTrue();
        read.BitwiseEquals(CheckpointTestData.Weights()).Should().BeFalse("a standardizer is part of the weights");
    }

    [Test]
    public void Serialize_WithAStandardizer_WritesVersion2TwoTensorsAndTheFormulaInTheMetadata()
    {
        byte[] bytes = SafetensorsCheckpoint.Serialize(Standardized());

        using JsonDocument header = JsonDocument.Parse(Encoding.UTF8.GetString(bytes, 8, (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes)));
        JsonElement root = header.RootElement;
        JsonElement metadata = root.GetProperty("__metadata__");
        metadata.GetProperty("format_version").GetString().Should().Be("2");
        metadata.GetProperty("input_standardizer").GetString().Should().Contain("(x - input_standardizer.mean) / input_standardizer.scale");
        foreach (string name in new[] { "input_standardizer.mean", "input_standardizer.scale" })
        {
            root.GetProperty(name).GetProperty("dtype").GetString().Should().Be("F32");
            root.GetProperty(name).GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).Should().Equal(6);
        }
    }

    [Test]
    public void Read_AFileWithoutAStandardizer_HasNone()
    {
        // An old (version 1) file, written by hand as before standardization existed.
        ModelWeights read = Read(CheckpointTestData.NameSortedFile(CheckpointTestData.Weights()), CheckpointTestData.Architecture);

        read.Standardizer.Should().BeNull("an old file means the identity transform");
        read.BitwiseEquals(CheckpointTestData.Weights()).Should().BeTrue();
    }

    [Test]
    public void Read_StandardizerTensorsWithoutTheMetadata_AreRefusedAsUnexpected()
    {
        ModelWeights weights = Standardized();
        string header = Header(weights)
            .Replace("\"format_version\":\"2\"", "\"format_version\":\"1\"", StringComparison.Ordinal);
        header = System.Text.RegularExpressions.Regex.Replace(header, "\"input_standardizer\":\"[^\"]*\",?", string.Empty).Replace(",}", "}", StringComparison.Ordinal);

        ShouldFail(Rebuild(weights, header), ModelLoadFailure.InvalidTensorLayout, "unexpected tensor 'input_standardizer.");
    }

    [Test]
    public void Read_Version2WithoutTheStandardizerMetadata_IsRefused()
    {
        ModelWeights weights = Standardized();
        string header = System.Text.RegularExpressions.Regex.Replace(Header(weights), "\"input_standardizer\":\"[^\"]*\",?", string.Empty).Replace(",}", "}", StringComparison.Ordinal);

        ShouldFail(Rebuild(weights, header), ModelLoadFailure.MalformedHeader, "input_standardizer");
    }

    [Test]
    public void Read_Version2WithoutTheStandardizerTensors_IsRefused()
    {
        ModelWeights plain = CheckpointTestData.Weights();
        string header = Header(plain).Replace("\"format_version\":\"1\"", "\"format_version\":\"2\",\"input_standardizer\":\"z\"", StringComparison.Ordinal);

        ShouldFail(Rebuild(plain, header), ModelLoadFailure.InvalidTensorLayout, "input_standardizer.mean", "missing");
    }

    [Test]
    public void Read_AStandardizerScaleOfZero_IsRefused()
    {
        ModelWeights weights = Standardized();
        byte[] bytes = SafetensorsCheckpoint.Serialize(weights);
        // The scale is the last tensor written: zero its first value.
        int scaleStart = bytes.Length - (6 * sizeof(float));
        BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(scaleStart), 0f);

        ShouldFail(bytes, ModelLoadFailure.NonFiniteWeights, "input_standardizer.scale");
    }

    private static void ShouldFail(byte[] bytes, ModelLoadFailure reason, params string[] messageParts)
    {
        ModelLoadingException thrown = FluentActions.Invoking(() => Read(bytes)).Should().Throw<ModelLoadingException>().Which;
        thrown.Reason.Should().Be(reason, thrown.Message);
        foreach (string part in messageParts)
        {
            thrown.Message.Should().Contain(part);
        }
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
