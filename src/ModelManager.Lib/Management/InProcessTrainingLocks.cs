using System.Runtime.CompilerServices;
using AgeGroupAnomaly.Storage;

namespace AgeGroupAnomaly.Management;

/// <summary>
/// The training lock per age range for stores that have none of their own
/// (<see cref="ITrainingLockProvider"/>): one set per store object, so every manager of this process
/// over that store shares it.
/// </summary>
internal sealed class InProcessTrainingLocks : ITrainingLockProvider
{
    private static readonly ConditionalWeakTable<IModelStore, InProcessTrainingLocks> s_perStore = [];
    private readonly Dictionary<(double, double), Holder> _ranges = [];
    private readonly Lock _gate = new();

    public static ITrainingLockProvider For(IModelStore store) =>
        store as ITrainingLockProvider ?? s_perStore.GetValue(store, _ => new InProcessTrainingLocks());

    public Task<IAsyncDisposable?> TryAcquireTrainingLockAsync(double ageMin, double ageMax, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Holder holder = Take(ageMin, ageMax);
        if (holder.Semaphore.Wait(0, CancellationToken.None))
        {
            return Task.FromResult<IAsyncDisposable?>(new Release(this, ageMin, ageMax, holder));
        }

        Drop(ageMin, ageMax, holder);
        return Task.FromResult<IAsyncDisposable?>(null);
    }

    public async Task<IAsyncDisposable> AcquireTrainingLockAsync(double ageMin, double ageMax, CancellationToken cancellationToken = default)
    {
        Holder holder = Take(ageMin, ageMax);
        try
        {
            await holder.Semaphore.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Drop(ageMin, ageMax, holder);
            throw;
        }

        return new Release(this, ageMin, ageMax, holder);
    }

    /// <summary>Counts one more user of the range's semaphore (so it is not removed while someone waits on it).</summary>
    private Holder Take(double ageMin, double ageMax)
    {
        lock (_gate)
        {
            if (!_ranges.TryGetValue((ageMin, ageMax), out Holder? holder))
            {
                holder = new Holder();
                _ranges[(ageMin, ageMax)] = holder;
            }

            holder.Users++;
            return holder;
        }
    }

    private void Drop(double ageMin, double ageMax, Holder holder)
    {
        lock (_gate)
        {
            if (--holder.Users == 0)
            {
                _ranges.Remove((ageMin, ageMax));
                holder.Semaphore.Dispose();
            }
        }
    }

    private sealed class Holder
    {
        public SemaphoreSlim Semaphore { get; } = new(1, 1);

        public int Users { get; set; }
    }

    private sealed class Release(InProcessTrainingLocks owner, double ageMin, double ageMax, Holder holder) : IAsyncDisposable
    {
        private int _released;

        public ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                holder.Semaphore.Release();
                owner.Drop(ageMin, ageMax, holder);
            }

            return ValueTask.CompletedTask;
        }
    }
}
