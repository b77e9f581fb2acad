namespace AgeGroupAnomaly.Compute;

/// <summary>
/// The library's one helper-thread mechanism: a second thread owned by one object (a training
/// engine, or a manager that splits single scores across cores) that spin-waits for the other half
/// of each job, so a hand-off costs a cache-line round trip instead of a thread-pool wake-up.
/// After its spin time without work it sleeps until the next hand-off (an owner left undisposed
/// costs a parked thread, not a core); it ends when its owner disposes it.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA2213", Justification = "The parking is disposed by the worker thread itself when it stops.")]
internal sealed class ForkJoinWorker : IDisposable
{
    private readonly long _spinTicks;
    private readonly Thread _thread;
    private readonly IdleParking _parking = new();
    private Action? _job;
    private long _posted;
    private long _finished;
    private Exception? _error;
    private volatile bool _stopping;
    private int _nextChunk;

    /// <param name="name">The thread's name (seen in debuggers and dumps).</param>
    /// <param name="spinTime">How long it spins for the next job before it sleeps; null for <see cref="TrainingSpinTime"/>.</param>
    public ForkJoinWorker(string name = "ModelManager training worker", TimeSpan? spinTime = null)
    {
        _spinTicks = (long)((spinTime ?? TrainingSpinTime).TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>False while the worker sleeps (or is about to): a job posted now waits for the OS to wake it.</summary>
    public bool IsAwake => _parking.IsAwake;

    /// <summary>Whether the thread has ended (after <see cref="Dispose"/>).</summary>
    public bool HasEnded => !_thread.IsAlive;

    /// <summary>Wakes a sleeping worker so that it spins again for the next job.</summary>
    public void Wake() => _parking.Wake();

    /// <summary>
    /// Runs <paramref name="body"/> for chunks 0 … <paramref name="chunks"/> − 1, the caller and the
    /// worker each taking the next chunk until none is left: when the host slows one of the two
    /// cores, the other simply takes more chunks instead of waiting for a fixed half.
    /// </summary>
    public void ForEachChunk(int chunks, Action<int> body)
    {
        Volatile.Write(ref _nextChunk, 0);
        void TakeChunks()
        {
            int chunk;
            while ((chunk = Interlocked.Increment(ref _nextChunk) - 1) < chunks)
            {
                body(chunk);
            }
        }

        Invoke(TakeChunks, TakeChunks);
    }

    /// <summary>Runs <paramref name="theirs"/> on the worker and <paramref name="mine"/> on the caller; returns when both are done.</summary>
    public void Invoke(Action mine, Action theirs)
    {
        _job = theirs;
        long ticket = Interlocked.Increment(ref _posted); // a full fence before the parking state is read
        _parking.Wake();
        try
        {
            mine();
        }
        finally
        {
            while (Volatile.Read(ref _finished) != ticket)
            {
                Thread.SpinWait(1);
            }
        }

        if (_error is { } error)
        {
            _error = null;
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
        }
    }

    public void Dispose()
    {
        _stopping = true;
        _parking.Wake();
        _thread.Join();
    }

    /// <summary>5 ms: longer than any gap between hand-offs inside a training run.</summary>
    internal static TimeSpan TrainingSpinTime => TimeSpan.FromTicks(TimeSpan.TicksPerSecond / 200);

    private void Run()
    {
        long seen = 0;
        long idleSince = System.Diagnostics.Stopwatch.GetTimestamp();
        while (!_stopping)
        {
            if (Volatile.Read(ref _posted) == seen)
            {
                Thread.SpinWait(1);
                if (System.Diagnostics.Stopwatch.GetTimestamp() - idleSince > _spinTicks)
                {
                    _parking.Park((Worker: this, Seen: seen), static w => Volatile.Read(ref w.Worker._posted) != w.Seen || w.Worker._stopping);
                    idleSince = System.Diagnostics.Stopwatch.GetTimestamp();
                }

                continue;
            }

            seen++;
            try
            {
                _job!();
            }
            catch (Exception ex)
            {
                _error = ex;
            }

            Volatile.Write(ref _finished, seen);
            idleSince = System.Diagnostics.Stopwatch.GetTimestamp();
        }

        _parking.Dispose();
    }
}
