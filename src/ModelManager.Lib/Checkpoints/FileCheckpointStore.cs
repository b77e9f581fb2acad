using System.Text.RegularExpressions;
using AgeGroupAnomaly.Modeling;

namespace AgeGroupAnomaly.Checkpoints;

/// <summary>Where a checkpoint was written and what its bytes hash to.</summary>
/// <param name="RelativePath">Where the checkpoint store put it (for files: the name under the checkpoint folder).</param>
/// <param name="Sha256">Lowercase hex SHA-256 of the file.</param>
public sealed record CheckpointInfo(string RelativePath, string Sha256);

/// <summary>
/// One safetensors file per model in a local folder, the default <see cref="ICheckpointStore"/>.
/// Writes are atomic (temporary file in the same folder, flushed to disk, then renamed), names are
/// generated from the model id only, and a model only ever reads or deletes the file named after
/// its own id.
/// </summary>
/// <remarks>
/// The store only ever writes regular files, so it reads nothing else: a checkpoint name that is a
/// directory, a symbolic link (wherever it points, inside the folder or outside it), a named pipe
/// or a device is refused as <see cref="ModelLoadFailure.InvalidPath"/> before it is opened (on
/// Linux the file type comes from <c>statx</c>; elsewhere directories and links are recognised and
/// other special files are not). A file larger than its architecture allows is refused as
/// <see cref="ModelLoadFailure.TooLarge"/> before it is read. The check and the open are two steps:
/// a file swapped for a pipe between them is not guarded against.
/// </remarks>
public sealed partial class FileCheckpointStore : ICheckpointStore
{
    private const string Extension = ".safetensors";
    private const string TemporarySuffix = ".tmp";
    private const int ReadChunkBytes = 1 << 20;

    /// <summary>Creates the store; the folder is created when missing.</summary>
    /// <param name="rootDirectory">The checkpoint folder.</param>
    public FileCheckpointStore(string rootDirectory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(rootDirectory);
        RootDirectory = Path.GetFullPath(rootDirectory);
        Directory.CreateDirectory(RootDirectory);
    }

    /// <summary>The absolute checkpoint folder.</summary>
    public string RootDirectory { get; }

    /// <summary>The file name the store uses for a model.</summary>
    /// <param name="modelId">The model.</param>
    /// <returns>For example <c>0f8f…e1.safetensors</c>.</returns>
    public static string FileNameFor(Guid modelId) => modelId.ToString("N") + Extension;

    /// <inheritdoc />
    public Task<string> WriteAsync(Guid modelId, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        string name = FileNameFor(modelId);
        string final = Path.Combine(RootDirectory, name);
        string temporary = Path.Combine(RootDirectory, $".{name}.{Guid.NewGuid():N}{TemporarySuffix}");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.None))
            {
                stream.Write(content.Span);
                stream.Flush(flushToDisk: true);
            }

            CreateOnlyPublish.Move(temporary, final);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }

        return Task.FromResult(name);
    }

    /// <inheritdoc />
    public Task<byte[]> ReadAsync(Guid modelId, string location, CancellationToken cancellationToken = default) =>
        ReadAsync(modelId, location, long.MaxValue, cancellationToken);

    /// <inheritdoc />
    public Task<byte[]> ReadAsync(Guid modelId, string location, long maxBytes, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(ReadFile(modelId, location, maxBytes, cancellationToken));
    }

    /// <inheritdoc />
    public Task DeleteAsync(Guid modelId, string location, CancellationToken cancellationToken = default)
    {
        if (location == FileNameFor(modelId))
        {
            TryDelete(Path.Combine(RootDirectory, location));
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<int> RemoveOrphansAsync(Func<string, bool> isReferenced, TimeSpan gracePeriod, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(isReferenced);
        DateTime cutoff = DateTime.UtcNow - gracePeriod;
        int removed = 0;
        foreach (string file in ListFiles())
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!isReferenced(file) && File.GetLastWriteTimeUtc(Path.Combine(RootDirectory, file)) <= cutoff && TryDelete(Path.Combine(RootDirectory, file)))
            {
                removed++;
            }
        }

        CleanupTemporaryFiles(gracePeriod);
        return Task.FromResult(removed);
    }

    /// <summary>Writes weights as a new model's checkpoint (encode, hash, store).</summary>
    internal CheckpointInfo Write(Guid modelId, ModelWeights weights)
    {
        (byte[] bytes, string sha256) = CheckpointCodec.Encode(weights);
        return new CheckpointInfo(WriteAsync(modelId, bytes).GetAwaiter().GetResult(), sha256);
    }

    /// <summary>Reads, verifies and parses a model's checkpoint.</summary>
    internal ModelWeights Read(Guid modelId, string relativePath, string expectedSha256, ArchitectureInfo? expectedArchitecture) =>
        CheckpointCodec.Decode(
            modelId,
            ReadFile(modelId, relativePath, expectedArchitecture is null ? long.MaxValue : SafetensorsCheckpoint.MaxFileBytes(expectedArchitecture), CancellationToken.None),
            expectedSha256,
            expectedArchitecture);

    /// <summary>The checkpoint files present (names), temporary files excluded.</summary>
    internal IReadOnlyList<string> ListFiles() =>
        [.. Directory.EnumerateFiles(RootDirectory, "*" + Extension).Select(Path.GetFileName).Where(n => n is not null && IsGeneratedName(n)).Select(n => n!)];

    /// <summary>Deletes temporary files a crashed writer left behind, when untouched for <paramref name="olderThan"/>.</summary>
    internal int CleanupTemporaryFiles(TimeSpan olderThan)
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

    /// <summary>
    /// Refuses, as <see cref="ModelLoadFailure.InvalidPath"/>, a location that is not the name
    /// generated for this model: another model's name, anything outside the folder, anything with
    /// extra characters (a trailing newline included).
    /// </summary>
    internal static void EnsureBelongsTo(Guid modelId, string location, string where)
    {
        if (string.IsNullOrEmpty(location) || !IsGeneratedName(location))
        {
            throw new ModelLoadingException(modelId, ModelLoadFailure.InvalidPath, $"'{Printable(location)}' is not a checkpoint name this library generates; refusing to read outside {where}.");
        }

        if (!string.Equals(location, FileNameFor(modelId), StringComparison.Ordinal))
        {
            throw new ModelLoadingException(modelId, ModelLoadFailure.InvalidPath, $"'{location}' is another model's checkpoint name; model {modelId} only reads '{FileNameFor(modelId)}'.");
        }
    }

    /// <summary>
    /// The whole file in reads of at most 1 MiB (cancellation is checked between them), after
    /// checking that it is a regular file of at most <paramref name="maxBytes"/> bytes.
    /// </summary>
    private byte[] ReadFile(Guid modelId, string relativePath, long maxBytes, CancellationToken cancellationToken)
    {
        EnsureBelongsTo(modelId, relativePath, RootDirectory);
        string path = Path.Combine(RootDirectory, relativePath);
        try
        {
            EnsureRegularFile(modelId, relativePath, path);
            cancellationToken.ThrowIfCancellationRequested();
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, FileOptions.SequentialScan);
            long length = RandomAccess.GetLength(handle);
            if (length > maxBytes || length > Array.MaxLength)
            {
                throw CheckpointLimits.TooLarge(modelId, relativePath, length, Math.Min(maxBytes, Array.MaxLength));
            }

            byte[] bytes = GC.AllocateUninitializedArray<byte>((int)length);
            int read = 0;
            while (read < bytes.Length)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int n = RandomAccess.Read(handle, bytes.AsSpan(read, Math.Min(ReadChunkBytes, bytes.Length - read)), read);
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
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new ModelLoadingException(modelId, ModelLoadFailure.Unreadable, $"the checkpoint file '{relativePath}' under {RootDirectory} cannot be read: {ex.Message}", ex);
        }
    }

    /// <summary>Refuses anything but a regular file before opening it (opening a named pipe would block).</summary>
    private void EnsureRegularFile(Guid modelId, string relativePath, string path)
    {
        FileAttributes attributes = File.GetAttributes(path); // of the link itself, not its target
        string? kind = (attributes & FileAttributes.ReparsePoint) != 0 ? "a symbolic link"
            : (attributes & FileAttributes.Directory) != 0 ? "a directory"
            : UnixFileType.Describe(path);
        if (kind is not null)
        {
            throw new ModelLoadingException(modelId, ModelLoadFailure.InvalidPath, $"the checkpoint '{relativePath}' under {RootDirectory} is {kind}, not a regular file; this library only reads the regular files it writes.");
        }
    }

    private static string Printable(string? text) =>
        text is null ? string.Empty : string.Concat(text.Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString()));

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

    [GeneratedRegex(@"\A[0-9a-f]{32}\.safetensors\z", RegexOptions.CultureInvariant)]
    private static partial Regex GeneratedName();
}
