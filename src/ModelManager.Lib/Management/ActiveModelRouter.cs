using System.Collections.Immutable;
using AgeGroupAnomaly.Storage;

namespace AgeGroupAnomaly.Management;

/// <summary>
/// Picks the active model for an age from a snapshot of the active records. When several active
/// ranges contain the age (for example [3, 5] and [5, 8] at age 5), the range with the greatest
/// AgeMin wins (a shared boundary age belongs to the older group), then the newest model.
/// </summary>
internal sealed class ActiveModelRouter(IModelStore store, TimeSpan refreshInterval, TimeProvider time)
{
    private volatile Snapshot? _snapshot;
    private long _generation;

    // The fast paths are not async methods: a completed snapshot is returned without a state machine.
    public ValueTask<ImmutableArray<ModelRecord>> ActiveAsync(CancellationToken cancellationToken)
    {
        Snapshot? snapshot = _snapshot;
        return snapshot is not null && IsFresh(snapshot)
            ? new ValueTask<ImmutableArray<ModelRecord>>(snapshot.Models)
            : RefreshAsync(cancellationToken);
    }

    public ValueTask<ModelRecord?> ForAgeAsync(double age, CancellationToken cancellationToken)
    {
        Snapshot? snapshot = _snapshot;
        return snapshot is not null && IsFresh(snapshot)
            ? new ValueTask<ModelRecord?>(Pick(snapshot.Models, age))
            : ForAgeSlowAsync(age, cancellationToken);
    }

    private async ValueTask<ModelRecord?> ForAgeSlowAsync(double age, CancellationToken cancellationToken) =>
        Pick(await RefreshAsync(cancellationToken).ConfigureAwait(false), age);

    private async ValueTask<ImmutableArray<ModelRecord>> RefreshAsync(CancellationToken cancellationToken)
    {
        long generation = Interlocked.Read(ref _generation);
        IReadOnlyList<ModelRecord> all = await store.ListModelsAsync(cancellationToken).ConfigureAwait(false);
        var fresh = new Snapshot([.. all.Where(m => m.IsActive)], time.GetUtcNow());

        // A change made while this read was under way may not be in it: keep it for this caller only.
        if (Interlocked.Read(ref _generation) == generation)
        {
            _snapshot = fresh;
        }

        return fresh.Models;
    }

    private static ModelRecord? Pick(ImmutableArray<ModelRecord> models, double age)
    {
        ModelRecord? best = null;
        foreach (ModelRecord m in models)
        {
            if (m.Covers(age) && (best is null || m.AgeMin > best.AgeMin || (m.AgeMin == best.AgeMin && m.CreatedUtc > best.CreatedUtc)))
            {
                best = m;
            }
        }

        return best;
    }

    private bool IsFresh(Snapshot snapshot) => time.GetUtcNow() - snapshot.Taken < refreshInterval;

    public void Invalidate()
    {
        Interlocked.Increment(ref _generation);
        _snapshot = null;
    }

    private sealed record Snapshot(ImmutableArray<ModelRecord> Models, DateTimeOffset Taken);
}
