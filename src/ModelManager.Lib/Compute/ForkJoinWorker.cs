namespace AgeGroupAnomaly.Compute;

/// <summary>
/// A second thread dedicated to one training run: it spin-waits for the other half of each split
/// product, so a hand-off costs a cache-line round trip instead of a thread-pool wake-up. A
/// training step makes a dozen hand-offs within a couple of milliseconds, and the run keeps both
/// cores busy anyway. After <see cref="SpinTime"/> without work it sleeps until the next hand-off
/// (so an engine left undisposed costs a parked thread, not a core); it ends on dispose.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA2213", Justification = "The parking is disposed by the worker thread itself when it stops.")]
internal sealed class ForkJoinWorker : IDisposable
{
    private static readonly long SpinTicks = System.Diagnostics.Stopwatch.Frequency / 200; // 5 ms

    private readonly Thread _thread;
    private readonly IdleParking _parking = new();
    private Action? _job;
    private long _posted;
    private long _finished;
    private Exception? _error;
    private volatile bool _stopping;
    private int _nextChunk;

    public ForkJoinWorker()
    {
        _thread = new Thread(Run) { IsBackground = true, Name = "ModelManager training worker" };
        _thread.Start();
    }

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
    internal static TimeSpan SpinTime => TimeSpan.FromTicks(TimeSpan.TicksPerSecond / 200);

    private void Run()
    {
        long seen = 0;
        long idleSince = System.Diagnostics.Stopwatch.GetTimestamp();
        while (!_stopping)
        {
            if (Volatile.Read(ref _posted) == seen)
            {
                Thread.SpinWait(1);
                if (System.Diagnostics.Stopwatch.GetTimestamp() - idleSince > SpinTicks)
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
