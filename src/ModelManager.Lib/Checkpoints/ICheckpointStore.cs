namespace AgeGroupAnomaly.Checkpoints;

/// <summary>
/// Where checkpoint bytes live: a local folder (<see cref="FileCheckpointStore"/>, the default),
/// memory (<see cref="InMemoryCheckpointStore"/>, for tests and throw-away apps) or object storage
/// (its own package). A store only keeps bytes; the library hashes, verifies and parses them, so
/// every store gets the same integrity checks.
/// </summary>
/// <remarks>
/// Implementations must make a written checkpoint visible whole or not at all, never overwrite an
/// existing one, and throw <see cref="ModelLoadingException"/> (with a <see cref="ModelLoadFailure"/>)
/// for a checkpoint that cannot be read.
/// </remarks>
public interface ICheckpointStore
{
    /// <summary>Stores a new model's checkpoint; a checkpoint already stored for the id is an error.</summary>
    /// <param name="modelId">The model.</param>
    /// <param name="content">The whole checkpoint file.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>Where it was stored, as the model record keeps it (for example a file name).</returns>
    Task<string> WriteAsync(Guid modelId, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default);

    /// <summary>Reads a model's checkpoint.</summary>
    /// <param name="modelId">The model; a location that does not belong to it is refused.</param>
    /// <param name="location">Where <see cref="WriteAsync"/> stored it.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The checkpoint's bytes.</returns>
    /// <exception cref="ModelLoadingException">Missing, unreadable or not this model's checkpoint.</exception>
    Task<byte[]> ReadAsync(Guid modelId, string location, CancellationToken cancellationToken = default);

    /// <summary>
    /// Reads a model's checkpoint only if it holds at most <paramref name="maxBytes"/> bytes. The
    /// library passes the largest size a checkpoint of the recorded architecture can have, so a
    /// huge (or sparse) file is refused before it is read and hashed. The default implementation
    /// reads the whole checkpoint and then checks its length; stores that can learn the size first
    /// (as <see cref="FileCheckpointStore"/> and <see cref="InMemoryCheckpointStore"/> do) should.
    /// </summary>
    /// <param name="modelId">The model; a location that does not belong to it is refused.</param>
    /// <param name="location">Where <see cref="WriteAsync"/> stored it.</param>
    /// <param name="maxBytes">The largest checkpoint accepted.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The checkpoint's bytes.</returns>
    /// <exception cref="ModelLoadingException">Missing, unreadable, not this model's checkpoint, or larger than <paramref name="maxBytes"/> (<see cref="ModelLoadFailure.TooLarge"/>).</exception>
    async Task<byte[]> ReadAsync(Guid modelId, string location, long maxBytes, CancellationToken cancellationToken = default)
    {
        byte[] bytes = await ReadAsync(modelId, location, cancellationToken).ConfigureAwait(false);
        return bytes.LongLength <= maxBytes ? bytes : throw CheckpointLimits.TooLarge(modelId, location, bytes.LongLength, maxBytes);
    }

    /// <summary>Deletes a model's checkpoint if it exists; a location that does not belong to the model is left alone.</summary>
    /// <param name="modelId">The model.</param>
    /// <param name="location">Where it was stored.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the checkpoint is gone.</returns>
    Task DeleteAsync(Guid modelId, string location, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes checkpoints no record refers to, and leftovers of interrupted writes, both only when
    /// older than <paramref name="gracePeriod"/> (a checkpoint another process is about to record is young).
    /// </summary>
    /// <param name="isReferenced">Whether a record refers to a location.</param>
    /// <param name="gracePeriod">Minimum age of anything removed.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>How many checkpoints were removed (leftovers of interrupted writes not counted).</returns>
    Task<int> RemoveOrphansAsync(Func<string, bool> isReferenced, TimeSpan gracePeriod, CancellationToken cancellationToken = default);
}

/// <summary>The size rule every checkpoint store applies.</summary>
internal static class CheckpointLimits
{
    public static ModelLoadingException TooLarge(Guid modelId, string location, long length, long maxBytes) =>
        new(modelId, ModelLoadFailure.TooLarge, FormattableString.Invariant($"the checkpoint '{location}' holds {length} bytes, more than the {maxBytes} a checkpoint of the recorded architecture can hold; it was not read."));
}
