using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace AgeGroupAnomaly.Storage.Sqlite;

/// <summary>Embeddings as little-endian float32 BLOBs, whatever the machine's byte order.</summary>
internal static class EmbeddingBlob
{
    public static byte[] Encode(float[] values)
    {
        var bytes = new byte[values.Length * sizeof(float)];
        if (BitConverter.IsLittleEndian)
        {
            MemoryMarshal.AsBytes(values.AsSpan()).CopyTo(bytes);
        }
        else
        {
            for (int i = 0; i < values.Length; i++)
            {
                BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * sizeof(float)), values[i]);
            }
        }

        return bytes;
    }

    public static float[] Decode(byte[] bytes, int dimension)
    {
        if (bytes.Length != dimension * sizeof(float))
        {
            throw new ModelManagerException($"A stored embedding has {bytes.Length} bytes but its recorded dimension {dimension} needs {dimension * sizeof(float)}.");
        }

        var values = new float[dimension];
        if (BitConverter.IsLittleEndian)
        {
            bytes.CopyTo(MemoryMarshal.AsBytes(values.AsSpan()));
        }
        else
        {
            for (int i = 0; i < dimension; i++)
            {
                values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(i * sizeof(float)));
            }
        }

        return values;
    }
}
