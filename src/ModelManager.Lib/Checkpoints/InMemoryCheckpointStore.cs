using System.Collections.Concurrent;

namespace AgeGroupAnomaly.Checkpoints;

/// <summary>
/// Checkpoints kept in memory: with the in-memory model store, a manager that touches
/// no file (unit tests of apps, throw-away runs). Thread-safe.
/// </summary>
public sealed class InMemoryCheckpointStore : ICheckpointStore
{
    private readonly ConcurrentDictionary<string, Entry> _checkpoints = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;

    /// <summary>Creates an empty store.</summary>
    /// <param name="timeProvider">The clock for orphan grace periods; null for the system clock.</param>
    public InMemoryCheckpointStore(TimeProvider? timeProvider = null) => _time = timeProvider ?? TimeProvider.System;

    /// <summary>Checkpoints held.</summary>
    public int Count => _checkpoints.Count;

    /// <inheritdoc />
    public Task<string> WriteAsync(Guid modelId, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        string location = FileCheckpointStore.FileNameFor(modelId);
        if (!_checkpoints.TryAdd(location, new Entry(content.ToArray(), _time.GetUtcNow())))
        {
            throw new IOException($"A checkpoint for model {modelId} is already stored.");
        }

        return Task.FromResult(location);
    }

    /// <inheritdoc />
    public Task<byte[]> ReadAsync(Guid modelId, string location, CancellationToken cancellationToken = default) =>
        ReadAsync(modelId, location, long.MaxValue, cancellationToken);

    /// <inheritdoc />
    public Task<byte[]> ReadAsync(Guid modelId, string location, long maxBytes, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        FileCheckpointStore.EnsureBelongsTo(modelId, location, "memory");
        if (!_checkpoints.TryGetValue(location, out Entry? entry))
        {
            throw new ModelLoadingException(modelId, ModelLoadFailure.MissingFile, $"no checkpoint '{location}' is held in memory.");
        }

        return entry.Content.LongLength <= maxBytes
            ? Task.FromResult(entry.Content.ToArray())
            : throw CheckpointLimits.TooLarge(modelId, location, entry.Content.LongLength, maxBytes);
    }

    /// <inheritdoc />
    public Task DeleteAsync(Guid modelId, string location, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (location == FileCheckpointStore.FileNameFor(modelId))
        {
            _checkpoints.TryRemove(location, out _);
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<int> RemoveOrphansAsync(Func<string, bool> isReferenced, TimeSpan gracePeriod, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(isReferenced);
        DateTimeOffset cutoff = _time.GetUtcNow() - gracePeriod;
        int removed = 0;
        foreach ((string location, Entry entry) in _checkpoints)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (entry.Written <= cutoff && !isReferenced(location) && _checkpoints.TryRemove(location, out _))
            {
                removed++;
            }
        }

        return Task.FromResult(removed);
    }

    private sealed record Entry(byte[] Content, DateTimeOffset Written);
}
