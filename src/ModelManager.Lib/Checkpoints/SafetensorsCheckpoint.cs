using System.Buffers.Binary;
using System.Collections.Immutable;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using AgeGroupAnomaly.Modeling;

namespace AgeGroupAnomaly.Checkpoints;

/// <summary>
/// Autoencoder weights in the safetensors format: an 8-byte little-endian header length, a JSON
/// header (dtype, shape and data_offsets per tensor, plus a <c>__metadata__</c> map of strings),
/// then the raw little-endian float32 data. PyTorch's and Hugging Face's safetensors loaders read
/// these files directly; the tensor names are the original module's state-dict keys.
/// </summary>
internal static class SafetensorsCheckpoint
{
    /// <summary>The <c>format</c> metadata value of files this library writes.</summary>
    public const string FormatName = "modelmanager-autoencoder";

    /// <summary>The <c>format_version</c> of files without an input standardizer (also every file written before it existed).</summary>
    public const string FormatVersion = "1";

    /// <summary>
    /// The <c>format_version</c> of files with an input standardizer: two more F32 tensors,
    /// <see cref="StandardizerMeanName"/> and <see cref="StandardizerScaleName"/>, each [input_size],
    /// and the metadata entry <see cref="StandardizerMetadataKey"/> saying how to apply them.
    /// </summary>
    public const string StandardizedFormatVersion = "2";

    /// <summary>The metadata key present exactly when the file holds a standardizer.</summary>
    public const string StandardizerMetadataKey = "input_standardizer";

    /// <summary>The value of <see cref="StandardizerMetadataKey"/>: how a PyTorch user reproduces a score.</summary>
    public const string StandardizerDescription =
        "z = (x - input_standardizer.mean) / input_standardizer.scale; score = mean((decoder(encoder(z)) - z)^2) in eval mode";

    /// <summary>Tensor name of the standardizer's per-feature mean.</summary>
    public const string StandardizerMeanName = "input_standardizer.mean";

    /// <summary>Tensor name of the standardizer's per-feature scale.</summary>
    public const string StandardizerScaleName = "input_standardizer.scale";

    /// <summary>The largest header this library reads (16 MiB).</summary>
    internal const int MaxHeaderBytes = 16 * 1024 * 1024;

    // More dimensions than any tensor could have; bounds what a hostile shape array can allocate.
    private const int MaxTensorRank = 8;

    /// <summary>
    /// The largest file a checkpoint of this architecture can be: the 8-byte length, the largest
    /// header read, and four bytes per parameter. A larger file is refused without being read.
    /// </summary>
    /// <param name="architecture">The architecture the model record names.</param>
    /// <returns>The bound in bytes.</returns>
    internal static long MaxFileBytes(ArchitectureInfo architecture) =>
        8 + MaxHeaderBytes + (sizeof(float) * (architecture.TotalParameters + (2L * architecture.InputSize)));

    /// <summary>Serialises weights into a complete safetensors file image.</summary>
    /// <param name="weights">The weights.</param>
    /// <returns>The file's bytes.</returns>
    /// <exception cref="NonFiniteWeightsException">A weight is NaN or ±∞ (such a model could only score NaN).</exception>
    public static byte[] Serialize(ModelWeights weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var tensors = weights.NamedTensors().ToList();
        if (weights.Standardizer is { } standardizer)
        {
            (float[] mean, float[] scale) = standardizer.Arrays;
            tensors.Add((StandardizerMeanName, [mean.Length], mean));
            tensors.Add((StandardizerScaleName, [scale.Length], scale));
        }

        foreach ((string name, _, float[] values) in tensors)
        {
            int bad = FirstNonFinite(values);
            if (bad >= 0)
            {
                throw new NonFiniteWeightsException(
                    string.Create(CultureInfo.InvariantCulture, $"Tensor '{name}' holds {values[bad]} at position {bad}; a checkpoint's weights must be finite numbers."),
                    name,
                    bad);
            }
        }

        ArchitectureInfo shape = weights.Architecture;
        var metadata = new Dictionary<string, string>
        {
            ["format"] = FormatName,
            ["format_version"] = weights.Standardizer is null ? FormatVersion : StandardizedFormatVersion,
            ["input_size"] = shape.InputSize.ToString(CultureInfo.InvariantCulture),
            ["hidden_sizes"] = JsonSerializer.Serialize(shape.HiddenSizes),
            ["dropout"] = shape.Dropout.ToString("R", CultureInfo.InvariantCulture),
        };
        if (weights.Standardizer is not null)
        {
            metadata[StandardizerMetadataKey] = StandardizerDescription;
        }

        var header = new Dictionary<string, object> { ["__metadata__"] = metadata };

        long offset = 0;
        foreach ((string name, int[] dims, float[] values) in tensors)
        {
            long end = offset + ((long)values.Length * sizeof(float));
            header[name] = new { dtype = "F32", shape = dims, data_offsets = new[] { offset, end } };
            offset = end;
        }

        byte[] json = JsonSerializer.SerializeToUtf8Bytes(header);
        int padded = (json.Length + 7) / 8 * 8; // the format pads the header with spaces to 8 bytes
        var file = new byte[8 + padded + offset];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)padded);
        json.CopyTo(file, 8);
        file.AsSpan(8 + json.Length, padded - json.Length).Fill((byte)' ');

        int position = 8 + padded;
        foreach ((_, _, float[] values) in tensors)
        {
            Span<byte> target = file.AsSpan(position, values.Length * sizeof(float));
            if (BitConverter.IsLittleEndian)
            {
                MemoryMarshal.AsBytes(values.AsSpan()).CopyTo(target);
            }
            else
            {
                for (int i = 0; i < values.Length; i++)
                {
                    BinaryPrimitives.WriteSingleLittleEndian(target[(i * 4)..], values[i]);
                }
            }

            position += target.Length;
        }

        return file;
    }

    /// <summary>
    /// Reads and checks a checkpoint. Every inconsistency is a <see cref="ModelLoadingException"/>;
    /// nothing larger than the file is ever allocated, whatever the header claims. Each tensor is
    /// read by name at its own data offsets, so the data may come in any order (Python's
    /// <c>safetensors.torch.save_file</c>, for one, lays it out sorted by tensor name).
    /// </summary>
    /// <param name="stream">A readable, seekable stream positioned at the file start.</param>
    /// <param name="modelId">The model, for error messages.</param>
    /// <param name="expected">The architecture the file must hold, or null to accept the file's own.</param>
    /// <returns>The weights.</returns>
    public static ModelWeights Read(Stream stream, Guid? modelId = null, ArchitectureInfo? expected = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        long start = stream.Position;
        long fileLength = stream.Length - start;
        Span<byte> prefix = stackalloc byte[8];
        if (fileLength < 8 || stream.ReadAtLeast(prefix, 8, throwOnEndOfStream: false) < 8)
        {
            throw Fail(modelId, ModelLoadFailure.Truncated, $"the file has {fileLength} bytes, fewer than the 8-byte header length.");
        }

        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength > (ulong)(fileLength - 8))
        {
            throw Fail(modelId, ModelLoadFailure.Truncated, $"the header claims {headerLength} bytes but only {fileLength - 8} follow.");
        }

        if (headerLength > MaxHeaderBytes || headerLength < 2)
        {
            throw Fail(modelId, ModelLoadFailure.MalformedHeader, $"a header of {headerLength} bytes is not plausible.");
        }

        var headerBytes = new byte[(int)headerLength];
        stream.ReadExactly(headerBytes);
        long dataLength = fileLength - 8 - (long)headerLength;

        (ArchitectureInfo architecture, Dictionary<string, TensorEntry> entries, bool standardized) = ParseHeader(headerBytes, modelId);
        if (expected is not null && !expected.Equals(architecture))
        {
            throw Fail(modelId, ModelLoadFailure.ArchitectureMismatch, $"the file holds {architecture} but the record says {expected}.");
        }

        List<(LinearLayerShape Layer, TensorEntry Weight, TensorEntry Bias)> layout = CheckLayout(architecture, entries, standardized, dataLength, modelId);

        // The checked tensors tile the data region exactly, so together they allocate its size once.
        long dataStart = start + 8 + (long)headerLength;
        var layers = new List<LayerWeights>(layout.Count);
        foreach ((LinearLayerShape _, TensorEntry weight, TensorEntry bias) in layout)
        {
            layers.Add(new LayerWeights(ReadFloats(stream, dataStart, weight, modelId), ReadFloats(stream, dataStart, bias, modelId)));
        }

        foreach (var (layer, (_, weight, bias)) in layers.Zip(layout))
        {
            RequireFinite(layer.Weight, weight.Name, modelId);
            RequireFinite(layer.Bias, bias.Name, modelId);
        }

        InputStandardizer? standardizer = null;
        if (standardized)
        {
            float[] mean = ReadFloats(stream, dataStart, entries[StandardizerMeanName], modelId);
            float[] scale = ReadFloats(stream, dataStart, entries[StandardizerScaleName], modelId);
            RequireFinite(mean, StandardizerMeanName, modelId);
            RequireFinite(scale, StandardizerScaleName, modelId);
            int bad = Array.FindIndex(scale, v => !(v > 0 && float.IsFinite(1f / v)));
            if (bad >= 0)
            {
                throw Fail(modelId, ModelLoadFailure.NonFiniteWeights, string.Create(CultureInfo.InvariantCulture, $"tensor '{StandardizerScaleName}' holds {scale[bad]} at position {bad}; a scale must be positive with a finite inverse."));
            }

            standardizer = new InputStandardizer(mean, scale);
        }

        return new ModelWeights(architecture, layers, standardizer);
    }

    private static (ArchitectureInfo, Dictionary<string, TensorEntry>, bool Standardized) ParseHeader(byte[] headerBytes, Guid? modelId)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(headerBytes.AsMemory().TrimEnd((byte)' '));
        }
        catch (JsonException ex)
        {
            throw Fail(modelId, ModelLoadFailure.MalformedHeader, "the header is not valid JSON.", ex);
        }

        using (document)
        {
            try
            {
                JsonElement root = document.RootElement;
                if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("__metadata__", out JsonElement metadata) || metadata.ValueKind != JsonValueKind.Object)
                {
                    throw Fail(modelId, ModelLoadFailure.MalformedHeader, "the header has no __metadata__ map.");
                }

                string? format = Text(metadata, "format");
                string? version = Text(metadata, "format_version");
                if (format != FormatName || (version != FormatVersion && version != StandardizedFormatVersion))
                {
                    throw Fail(modelId, ModelLoadFailure.UnsupportedFormat, $"format '{format}' version '{version}' is not {FormatName} version {FormatVersion} or {StandardizedFormatVersion}.");
                }

                bool standardized = version == StandardizedFormatVersion;
                if (standardized != metadata.TryGetProperty(StandardizerMetadataKey, out _))
                {
                    throw Fail(
                        modelId,
                        ModelLoadFailure.MalformedHeader,
                        standardized ? $"version {version} needs the metadata entry '{StandardizerMetadataKey}'." : $"version {version} has no input standardizer, yet the metadata names '{StandardizerMetadataKey}'.");
                }

                var architecture = new ArchitectureInfo(
                    int.Parse(Text(metadata, "input_size") ?? string.Empty, NumberStyles.None, CultureInfo.InvariantCulture),
                    JsonSerializer.Deserialize<ImmutableArray<int>>(Text(metadata, "hidden_sizes") ?? "null"),
                    double.Parse(Text(metadata, "dropout") ?? string.Empty, NumberStyles.Float, CultureInfo.InvariantCulture));
                architecture.Validate();

                // JsonDocument keeps a key that appears twice, so duplicates are seen (and refused) here.
                var entries = new Dictionary<string, TensorEntry>(StringComparer.Ordinal);
                bool metadataSeen = false;
                foreach (JsonProperty property in root.EnumerateObject())
                {
                    if (property.Name == "__metadata__")
                    {
                        if (metadataSeen)
                        {
                            throw Fail(modelId, ModelLoadFailure.MalformedHeader, "the header holds __metadata__ more than once.");
                        }

                        metadataSeen = true;
                        continue;
                    }

                    if (!entries.TryAdd(property.Name, ParseTensor(property, modelId)))
                    {
                        throw Fail(modelId, ModelLoadFailure.InvalidTensorLayout, $"tensor '{property.Name}' appears more than once in the header.");
                    }
                }

                return (architecture, entries, standardized);
            }
            catch (Exception ex) when (ex is JsonException or FormatException or OverflowException or KeyNotFoundException or InvalidOperationException or ArgumentException)
            {
                throw Fail(modelId, ModelLoadFailure.MalformedHeader, $"the header does not describe an autoencoder checkpoint ({ex.Message}).", ex);
            }
        }
    }

    private static TensorEntry ParseTensor(JsonProperty property, Guid? modelId)
    {
        string name = property.Name;
        JsonElement entry = property.Value;
        if (entry.ValueKind != JsonValueKind.Object)
        {
            throw Fail(modelId, ModelLoadFailure.MalformedHeader, $"tensor '{name}' is {Describe(entry.ValueKind)}, expected {Describe(JsonValueKind.Object)}.");
        }

        string dtype = Field(entry, name, "dtype", JsonValueKind.String, modelId).GetString() ?? string.Empty;
        long[] shape = Integers(Field(entry, name, "shape", JsonValueKind.Array, modelId), name, "shape", MaxTensorRank, modelId);
        JsonElement offsetArray = Field(entry, name, "data_offsets", JsonValueKind.Array, modelId);
        if (offsetArray.GetArrayLength() != 2)
        {
            throw Fail(modelId, ModelLoadFailure.InvalidTensorLayout, $"tensor '{name}' field 'data_offsets' holds {offsetArray.GetArrayLength()} values, expected 2 (begin and end).");
        }

        long[] offsets = Integers(offsetArray, name, "data_offsets", 2, modelId);
        return new TensorEntry(name, dtype, shape, offsets[0], offsets[1]);
    }

    /// <summary>The one field of a tensor entry with this name, which must have the given JSON kind.</summary>
    private static JsonElement Field(JsonElement entry, string tensor, string field, JsonValueKind kind, Guid? modelId)
    {
        JsonElement? found = null;
        foreach (JsonProperty property in entry.EnumerateObject())
        {
            if (property.Name == field)
            {
                if (found is not null)
                {
                    throw Fail(modelId, ModelLoadFailure.MalformedHeader, $"tensor '{tensor}' has field '{field}' more than once.");
                }

                found = property.Value;
            }
        }

        if (found is not { } value)
        {
            throw Fail(modelId, ModelLoadFailure.MalformedHeader, $"tensor '{tensor}' has no '{field}' field.");
        }

        if (value.ValueKind != kind)
        {
            throw Fail(modelId, ModelLoadFailure.MalformedHeader, $"tensor '{tensor}' field '{field}' is {Describe(value.ValueKind)}, expected {Describe(kind)}.");
        }

        return value;
    }

    /// <summary>An array field's integers; more than <paramref name="maxLength"/> of them is a layout error, before anything is allocated.</summary>
    private static long[] Integers(JsonElement array, string tensor, string field, int maxLength, Guid? modelId)
    {
        int length = array.GetArrayLength();
        if (length > maxLength)
        {
            throw Fail(modelId, ModelLoadFailure.InvalidTensorLayout, $"tensor '{tensor}' field '{field}' holds {length} values, at most {maxLength} are possible.");
        }

        var values = new long[length];
        int i = 0;
        foreach (JsonElement item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out values[i]))
            {
                string text = item.GetRawText();
                throw Fail(
                    modelId,
                    ModelLoadFailure.MalformedHeader,
                    $"tensor '{tensor}' field '{field}' holds {(text.Length > 40 ? text[..40] + "..." : text)} at index {i}, expected an integer.");
            }

            i++;
        }

        return values;
    }

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "a JSON object",
        JsonValueKind.Array => "a JSON array",
        JsonValueKind.String => "a JSON string",
        JsonValueKind.Number => "a JSON number",
        JsonValueKind.True or JsonValueKind.False => "a JSON boolean",
        JsonValueKind.Null => "JSON null",
        _ => kind.ToString(),
    };

    private static List<(LinearLayerShape, TensorEntry, TensorEntry)> CheckLayout(
        ArchitectureInfo architecture, Dictionary<string, TensorEntry> entries, bool standardized, long dataLength, Guid? modelId)
    {
        var layout = new List<(LinearLayerShape, TensorEntry, TensorEntry)>();
        var expectedNames = new HashSet<string>(StringComparer.Ordinal);
        if (standardized)
        {
            // Accepted exactly when the metadata says the file holds a standardizer; refused as unexpected otherwise.
            Expect(entries, StandardizerMeanName, [architecture.InputSize], dataLength, modelId);
            Expect(entries, StandardizerScaleName, [architecture.InputSize], dataLength, modelId);
            expectedNames.Add(StandardizerMeanName);
            expectedNames.Add(StandardizerScaleName);
        }

        foreach (LinearLayerShape layer in architecture.Layers)
        {
            TensorEntry weight = Expect(entries, layer.WeightName, [layer.OutputSize, layer.InputSize], dataLength, modelId);
            TensorEntry bias = Expect(entries, layer.BiasName, [layer.OutputSize], dataLength, modelId);
            expectedNames.Add(layer.WeightName);
            expectedNames.Add(layer.BiasName);
            layout.Add((layer, weight, bias));
        }

        string? extra = entries.Keys.FirstOrDefault(k => !expectedNames.Contains(k));
        if (extra is not null)
        {
            throw Fail(modelId, ModelLoadFailure.InvalidTensorLayout, $"the file holds an unexpected tensor '{extra}'.");
        }

        // The tensors must tile the data region exactly: no gaps, no overlaps, nothing after.
        long position = 0;
        foreach (TensorEntry entry in entries.Values.OrderBy(e => e.Begin))
        {
            if (entry.Begin != position)
            {
                throw Fail(modelId, ModelLoadFailure.InvalidTensorLayout, $"tensor '{entry.Name}' starts at {entry.Begin}, expected {position}.");
            }

            position = entry.End;
        }

        if (position != dataLength)
        {
            throw Fail(modelId, ModelLoadFailure.InvalidTensorLayout, $"the tensors cover {position} data bytes but the file holds {dataLength}.");
        }

        return layout;
    }

    private static TensorEntry Expect(Dictionary<string, TensorEntry> entries, string name, long[] shape, long dataLength, Guid? modelId)
    {
        if (!entries.TryGetValue(name, out TensorEntry? entry))
        {
            throw Fail(modelId, ModelLoadFailure.InvalidTensorLayout, $"tensor '{name}' is missing.");
        }

        if (entry.Dtype != "F32")
        {
            throw Fail(modelId, ModelLoadFailure.InvalidTensorLayout, $"tensor '{name}' has dtype {entry.Dtype}, expected F32.");
        }

        if (!entry.Shape.AsSpan().SequenceEqual(shape))
        {
            throw Fail(modelId, ModelLoadFailure.InvalidTensorLayout, $"tensor '{name}' has shape [{string.Join(", ", entry.Shape)}], expected [{string.Join(", ", shape)}].");
        }

        if (entry.Begin < 0 || entry.End < entry.Begin || entry.End > dataLength)
        {
            throw Fail(modelId, ModelLoadFailure.InvalidTensorLayout, $"tensor '{name}' has data offsets [{entry.Begin}, {entry.End}] outside the {dataLength} data bytes.");
        }

        long elements = shape.Aggregate(1L, (a, b) => a * b);
        if (entry.End - entry.Begin != elements * sizeof(float))
        {
            throw Fail(modelId, ModelLoadFailure.InvalidTensorLayout, $"tensor '{name}' spans {entry.End - entry.Begin} bytes, expected {elements * sizeof(float)}.");
        }

        return entry;
    }

    /// <summary>Reads one checked tensor at its own data offsets, whichever tensor was read before.</summary>
    private static float[] ReadFloats(Stream stream, long dataStart, TensorEntry entry, Guid? modelId)
    {
        stream.Seek(dataStart + entry.Begin, SeekOrigin.Begin);
        float[] values = GC.AllocateUninitializedArray<float>((int)((entry.End - entry.Begin) / sizeof(float))); // filled completely below
        Span<byte> bytes = MemoryMarshal.AsBytes(values.AsSpan());
        if (stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false) < bytes.Length)
        {
            throw Fail(modelId, ModelLoadFailure.Truncated, $"the data of tensor '{entry.Name}' ends early.");
        }

        if (!BitConverter.IsLittleEndian)
        {
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(i * 4)..]);
            }
        }

        return values;
    }

    private static void RequireFinite(float[] values, string tensor, Guid? modelId)
    {
        int bad = FirstNonFinite(values);
        if (bad >= 0)
        {
            throw Fail(modelId, ModelLoadFailure.NonFiniteWeights, string.Create(CultureInfo.InvariantCulture, $"tensor '{tensor}' holds {values[bad]} at position {bad}; weights must be finite numbers."));
        }
    }

    /// <summary>The position of the first NaN or ±∞, or −1 when every value is finite.</summary>
    private static int FirstNonFinite(float[] values)
    {
        for (int i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                return i;
            }
        }

        return -1;
    }

    private static string? Text(JsonElement metadata, string key) =>
        metadata.TryGetProperty(key, out JsonElement value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static ModelLoadingException Fail(Guid? modelId, ModelLoadFailure reason, string detail, Exception? inner = null) =>
        new(modelId, reason, detail, inner);

    private sealed record TensorEntry(string Name, string Dtype, long[] Shape, long Begin, long End);
}
