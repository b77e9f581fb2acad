using System.Security.Cryptography;
using AgeGroupAnomaly.Modeling;

namespace AgeGroupAnomaly.Checkpoints;

/// <summary>Turns weights into checkpoint bytes and back, with the SHA-256 every store's bytes are checked against.</summary>
internal static class CheckpointCodec
{
    public static (byte[] Bytes, string Sha256) Encode(ModelWeights weights)
    {
        byte[] bytes = SafetensorsCheckpoint.Serialize(weights);
        return (bytes, Sha256(bytes));
    }

    /// <summary>Checks the hash, then the content; every problem is a <see cref="ModelLoadingException"/>.</summary>
    public static ModelWeights Decode(Guid modelId, byte[] bytes, string expectedSha256, ArchitectureInfo? expectedArchitecture)
    {
        VerifyHash(modelId, Sha256(bytes), expectedSha256);
        using var stream = new MemoryStream(bytes, writable: false);
        return SafetensorsCheckpoint.Read(stream, modelId, expectedArchitecture);
    }

    public static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static void VerifyHash(Guid modelId, string actualSha256, string expectedSha256)
    {
        if (!string.Equals(actualSha256, expectedSha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new ModelLoadingException(modelId, ModelLoadFailure.ChecksumMismatch, $"the file's SHA-256 is {actualSha256} but {expectedSha256} was recorded.");
        }
    }
}
