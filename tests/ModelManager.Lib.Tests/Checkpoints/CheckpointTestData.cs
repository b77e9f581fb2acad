using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using AgeGroupAnomaly.Checkpoints;
using AgeGroupAnomaly.Modeling;

namespace AgeGroupAnomaly.Tests.Checkpoints;

internal static class CheckpointTestData
{
    public static readonly ArchitectureInfo Architecture = new(6, [4, 2], 0.1);

    /// <summary>Seeded weights with awkward values (negative zero, subnormals, extremes) to prove bit-exactness.</summary>
    public static ModelWeights Weights(int seed = 1, ArchitectureInfo? architecture = null)
    {
        architecture ??= Architecture;
        var rng = new Random(seed);
        float[] Fill(int n) => [.. Enumerable.Range(0, n).Select(i => i switch
        {
            0 => -0f,
            1 => float.Epsilon,
            2 => float.MaxValue,
            _ => (float)(rng.NextDouble() * 2 - 1),
        })];
        return new ModelWeights(architecture, [.. architecture.Layers.Select(l => new LayerWeights(Fill(l.InputSize * l.OutputSize), Fill(l.OutputSize)))]);
    }

    /// <summary>
    /// The weights as Python's <c>safetensors.torch.save_file</c> lays them out: header entries and
    /// data sorted by tensor name (<c>decoder.0.bias</c> before <c>decoder.0.weight</c>).
    /// </summary>
    public static byte[] NameSortedFile(ModelWeights weights) =>
        HandWrittenFile(weights.Architecture, weights.NamedTensors().OrderBy(t => t.Name, StringComparer.Ordinal));

    /// <summary>
    /// A safetensors file written by hand, independently of <see cref="SafetensorsCheckpoint.Serialize"/>:
    /// 8-byte little-endian header length, a JSON header padded with spaces to 8 bytes (the
    /// <c>__metadata__</c> map, then one entry per tensor in the given order), then each tensor's
    /// little-endian float32 data back to back in the same order.
    /// </summary>
    /// <param name="architecture">What the metadata describes.</param>
    /// <param name="tensors">The tensors, in file order.</param>
    /// <param name="editEntry">Rewrites one tensor's header text (<c>"name":{…}</c>) to corrupt it.</param>
    public static byte[] HandWrittenFile(
        ArchitectureInfo architecture,
        IEnumerable<(string Name, int[] Shape, float[] Values)> tensors,
        Func<string, string, string>? editEntry = null)
    {
        var header = new StringBuilder();
        header.Append(CultureInfo.InvariantCulture, $$"""{"__metadata__":{"format":"{{SafetensorsCheckpoint.FormatName}}","format_version":"{{SafetensorsCheckpoint.FormatVersion}}",""");
        header.Append(CultureInfo.InvariantCulture, $$"""
            "input_size":"{{architecture.InputSize}}","hidden_sizes":"[{{string.Join(", ", architecture.HiddenSizes)}}]","dropout":"{{architecture.Dropout.ToString("R", CultureInfo.InvariantCulture)}}"}
            """);
        var data = new List<byte>();
        foreach ((string name, int[] shape, float[] values) in tensors)
        {
            long begin = data.Count;
            foreach (float v in values)
            {
                var bytes = new byte[4];
                BinaryPrimitives.WriteSingleLittleEndian(bytes, v);
                data.AddRange(bytes);
            }

            string entry = string.Create(CultureInfo.InvariantCulture, $$"""
                "{{name}}":{"dtype":"F32","shape":[{{string.Join(",", shape)}}],"data_offsets":[{{begin}},{{data.Count}}]}
                """);
            header.Append(',').Append(editEntry is null ? entry : editEntry(name, entry));
        }

        header.Append('}');
        byte[] json = Encoding.UTF8.GetBytes(header.ToString());
        int padded = (json.Length + 7) / 8 * 8;
        var file = new byte[8 + padded + data.Count];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)padded);
        json.CopyTo(file, 8);
        file.AsSpan(8 + json.Length, padded - json.Length).Fill((byte)' ');
        data.CopyTo(file, 8 + padded);
        return file;
    }
}
