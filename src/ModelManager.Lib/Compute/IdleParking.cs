namespace AgeGroupAnomaly.Compute;

/// <summary>
/// How a spin-waiting helper thread goes to sleep without missing work: it announces that it is
/// parking (a full fence), looks for work once more, and only then blocks; a producer publishes its
/// work (a full fence) and then wakes a parked helper. One of the two always sees the other.
/// </summary>
internal sealed class IdleParking : IDisposable
{
    private readonly SemaphoreSlim _wake = new(0);
    private int _state; // 0 awake, 1 parking or parked, 2 being woken

    /// <summary>False from the moment the helper starts to park until it runs again.</summary>
    public bool IsAwake => Volatile.Read(ref _state) == 0;

    /// <summary>Wakes the helper if it is parking or parked (call after publishing work).</summary>
    public void Wake()
    {
        if (Interlocked.CompareExchange(ref _state, 2, 1) == 1)
        {
            try
            {
                _wake.Release();
            }
            catch (ObjectDisposedException)
            {
                // The helper ended (its owner was disposed) between the state change and here: nothing to wake.
            }
        }
    }

    /// <summary>Blocks the helper until <see cref="Wake"/>, unless <paramref name="hasWork"/> says work arrived meanwhile.</summary>
    public void Park<TState>(TState state, Func<TState, bool> hasWork)
    {
        Interlocked.Exchange(ref _state, 1); // a full fence before the work is looked for again
        if (!hasWork(state))
        {
            _wake.Wait();
        }

        Volatile.Write(ref _state, 0);
    }

    public void Dispose() => _wake.Dispose();
}
