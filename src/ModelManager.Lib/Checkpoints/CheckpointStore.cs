using System.Security.Cryptography;
using System.Text.RegularExpressions;
using AgeGroupAnomaly.Modeling;

namespace AgeGroupAnomaly.Checkpoints;

/// <summary>Where a checkpoint was written and what its bytes hash to.</summary>
/// <param name="RelativePath">Path relative to the checkpoint root.</param>
/// <param name="Sha256">Lowercase hex SHA-256 of the file.</param>
public sealed record CheckpointInfo(string RelativePath, string Sha256);

/// <summary>
/// One safetensors file per model under a root directory. Writes are atomic (temporary file in the
/// same directory, flushed to disk, then renamed), names are generated from the model id only, and
/// reads check path, SHA-256, header, shapes and offsets.
/// </summary>
public sealed partial class CheckpointStore
{
    private const string Extension = ".safetensors";
    private const string TemporarySuffix = ".tmp";

    /// <summary>Creates the store; the directory is created when missing.</summary>
    /// <param name="rootDirectory">The checkpoint root.</param>
    public CheckpointStore(string rootDirectory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(rootDirectory);
        RootDirectory = Path.GetFullPath(rootDirectory);
        Directory.CreateDirectory(RootDirectory);
    }

    /// <summary>The absolute checkpoint root.</summary>
    public string RootDirectory { get; }

    /// <summary>The relative file name the store uses for a model.</summary>
    /// <param name="modelId">The model.</param>
    /// <returns>For example <c>0f8f…e1.safetensors</c>.</returns>
    public static string FileNameFor(Guid modelId) => modelId.ToString("N") + Extension;

    /// <summary>Writes a model's checkpoint atomically; an existing file for the id is an error.</summary>
    /// <param name="modelId">The model.</param>
    /// <param name="weights">Its weights.</param>
    /// <returns>The relative path and SHA-256.</returns>
    public CheckpointInfo Write(Guid modelId, ModelWeights weights)
    {
        byte[] bytes = SafetensorsCheckpoint.Serialize(weights);
        string name = FileNameFor(modelId);
        string final = Path.Combine(RootDirectory, name);
        string temporary = Path.Combine(RootDirectory, $".{name}.{Guid.NewGuid():N}{TemporarySuffix}");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.None))
            {
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, final, overwrite: false);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }

        return new CheckpointInfo(name, Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }

    /// <summary>Reads and checks a model's checkpoint; needs no TorchSharp.</summary>
    /// <param name="modelId">The model (for messages).</param>
    /// <param name="relativePath">The recorded relative path.</param>
    /// <param name="expectedSha256">The recorded SHA-256.</param>
    /// <param name="expectedArchitecture">The recorded architecture, or null to accept the file's.</param>
    /// <returns>The weights.</returns>
    public ModelWeights Read(Guid modelId, string relativePath, string expectedSha256, ModelArchitecture? expectedArchitecture)
    {
        byte[] bytes = ReadFile(modelId, relativePath);
        VerifyHash(modelId, Sha256(bytes), expectedSha256);
        return Parse(modelId, bytes, expectedArchitecture);
    }

    /// <summary>The whole file in one read of exactly its size (hash and parser then work from memory).</summary>
    internal byte[] ReadFile(Guid modelId, string relativePath)
    {
        string path = Resolve(modelId, relativePath);
        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, FileOptions.SequentialScan);
            long length = RandomAccess.GetLength(handle);
            byte[] bytes = GC.AllocateUninitializedArray<byte>((int)Math.Min(length, Array.MaxLength));
            int read = 0;
            while (read < bytes.Length)
            {
                int n = RandomAccess.Read(handle, bytes.AsSpan(read), read);
                if (n == 0)
                {
                    return bytes[..read]; // shrank while reading
                }

                read += n;
            }

            return bytes;
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ModelLoadingException(modelId, ModelLoadFailure.MissingFile, $"the checkpoint file '{relativePath}' does not exist under {RootDirectory}.", ex);
        }
    }

    internal static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    internal static void VerifyHash(Guid modelId, string actualSha256, string expectedSha256)
    {
        if (!string.Equals(actualSha256, expectedSha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new ModelLoadingException(modelId, ModelLoadFailure.ChecksumMismatch, $"the file's SHA-256 is {actualSha256} but {expectedSha256} was recorded.");
        }
    }

    internal static ModelWeights Parse(Guid modelId, byte[] bytes, ModelArchitecture? expectedArchitecture)
    {
        using var stream = new MemoryStream(bytes, writable: false);
        return SafetensorsCheckpoint.Read(stream, modelId, expectedArchitecture);
    }

    /// <summary>Deletes a checkpoint file if it exists.</summary>
    /// <param name="relativePath">The relative path.</param>
    public void Delete(string relativePath)
    {
        if (IsGeneratedName(relativePath))
        {
            TryDelete(Path.Combine(RootDirectory, relativePath));
        }
    }

    /// <summary>The checkpoint files present (relative names), temporary files excluded.</summary>
    /// <returns>The names.</returns>
    public IReadOnlyList<string> ListFiles() =>
        [.. Directory.EnumerateFiles(RootDirectory, "*" + Extension).Select(Path.GetFileName).Where(n => n is not null && IsGeneratedName(n)).Select(n => n!)];

    /// <summary>Deletes temporary files a crashed writer left behind.</summary>
    /// <param name="olderThan">Only files untouched for this long (a live writer's file is young).</param>
    /// <returns>How many were deleted.</returns>
    public int CleanupTemporaryFiles(TimeSpan olderThan)
    {
        int deleted = 0;
        DateTime cutoff = DateTime.UtcNow - olderThan;
        foreach (string file in Directory.EnumerateFiles(RootDirectory, "." + "*" + TemporarySuffix))
        {
            if (File.GetLastWriteTimeUtc(file) <= cutoff && TryDelete(file))
            {
                deleted++;
            }
        }

        return deleted;
    }

    private string Resolve(Guid modelId, string relativePath)
    {
        if (string.IsNullOrEmpty(relativePath) || !IsGeneratedName(relativePath))
        {
            throw new ModelLoadingException(modelId, ModelLoadFailure.InvalidPath, $"'{relativePath}' is not a checkpoint name this library generates; refusing to read outside {RootDirectory}.");
        }

        return Path.Combine(RootDirectory, relativePath);
    }

    private static bool IsGeneratedName(string relativePath) => GeneratedName().IsMatch(relativePath);

    private static bool TryDelete(string path)
    {
        try
        {
            File.Delete(path);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    [GeneratedRegex(@"^[0-9a-f]{32}\.safetensors$", RegexOptions.CultureInvariant)]
    private static partial Regex GeneratedName();
}
