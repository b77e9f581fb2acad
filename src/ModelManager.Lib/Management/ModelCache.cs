using AgeGroupAnomaly.Scoring;

namespace AgeGroupAnomaly.Management;

/// <summary>
/// A bounded least-recently-used cache of loaded models. Concurrent first requests for one id share
/// a single load; a failed load is not cached; removing or clearing also discards loads in flight.
/// </summary>
/// <remarks>
/// Recency is a use counter per entry and eviction scans for the smallest: capacities are small
/// (tens of models), and a hit then costs a dictionary lookup and no allocation.
/// </remarks>
internal sealed class ModelCache(int capacity, Telemetry.ModelManagerTelemetry? telemetry = null)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<Guid, Entry> _entries = [];
    private long _clock;

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _entries.Count;
            }
        }
    }

    public ValueTask<LoadedModel> GetOrLoadAsync(Guid id, Func<Guid, Task<LoadedModel>> load, CancellationToken cancellationToken)
    {
        Entry? entry;
        lock (_gate)
        {
            if (_entries.TryGetValue(id, out entry))
            {
                telemetry?.CacheHit();
            }
            else
            {
                telemetry?.CacheMiss();
                entry = CreateEntry(id, load);
                _entries[id] = entry;
                if (_entries.Count > capacity)
                {
                    EvictLeastRecentlyUsed(except: entry);
                }
            }

            entry.LastUsed = ++_clock;
        }

        Task<LoadedModel> task = entry.Load.Value;
        return task.IsCompletedSuccessfully
            ? new ValueTask<LoadedModel>(task.Result)
            : AwaitLoadAsync(entry, task, cancellationToken);
    }

    public void Remove(Guid id)
    {
        lock (_gate)
        {
            _entries.Remove(id);
        }
    }

    public void Clear()
    {
        lock (_gate)
        {
            _entries.Clear();
        }
    }

    // Kept out of GetOrLoadAsync: a lambda capturing its parameters would allocate a closure on
    // every call, hits included.
    private static Entry CreateEntry(Guid id, Func<Guid, Task<LoadedModel>> load) =>
        new(id, new Lazy<Task<LoadedModel>>(() => load(id)));

    private void EvictLeastRecentlyUsed(Entry except)
    {
        Entry? oldest = null;
        foreach (Entry candidate in _entries.Values)
        {
            if (!ReferenceEquals(candidate, except) && (oldest is null || candidate.LastUsed < oldest.LastUsed))
            {
                oldest = candidate;
            }
        }

        if (oldest is not null)
        {
            _entries.Remove(oldest.Id);
            telemetry?.CacheEviction();
        }
    }

    private async ValueTask<LoadedModel> AwaitLoadAsync(Entry entry, Task<LoadedModel> task, CancellationToken cancellationToken)
    {
        try
        {
            // The shared load is not cancelled by one caller; each caller may stop waiting.
            return await task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (task.IsFaulted || task.IsCanceled)
        {
            lock (_gate)
            {
                if (_entries.TryGetValue(entry.Id, out Entry? current) && ReferenceEquals(current, entry))
                {
                    _entries.Remove(entry.Id);
                }
            }

            throw;
        }
    }

    private sealed class Entry(Guid id, Lazy<Task<LoadedModel>> load)
    {
        public Guid Id { get; } = id;

        public Lazy<Task<LoadedModel>> Load { get; } = load;

        public long LastUsed { get; set; }
    }
}
