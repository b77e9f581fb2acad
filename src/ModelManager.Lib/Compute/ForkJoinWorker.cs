using System.Runtime.CompilerServices;

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
    private readonly bool _yieldWhileIdle;
    private readonly Thread _thread;
    private readonly IdleParking _parking = new();
    private Action? _job;
    private long _posted;
    private long _finished;
    private Exception? _error;
    private volatile bool _stopping;
    private volatile bool _restSoon;
    private int _nextChunk;
    private long _offer; // the posted ticket while the worker may still take it; −ticket once taken; 0 once withdrawn

    /// <param name="name">The thread's name (seen in debuggers and dumps).</param>
    /// <param name="spinTime">How long it spins for the next job before it sleeps; null for <see cref="TrainingSpinTime"/>.</param>
    /// <param name="yieldWhileIdle">
    /// Whether its idle spinning offers the core to any other runnable thread at every turn (a
    /// scoring helper must never take a core from the requests it speeds up); a training worker
    /// keeps its core.
    /// </param>
    public ForkJoinWorker(string name = "ModelManager training worker", TimeSpan? spinTime = null, bool yieldWhileIdle = false)
    {
        _yieldWhileIdle = yieldWhileIdle;
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

    /// <summary>Asks an idle worker to sleep now instead of spinning out its spin time (its owner expects no job soon).</summary>
    public void Rest() => _restSoon = true;

    /// <summary>
    /// Runs <paramref name="body"/> for chunks 0 … <paramref name="chunks"/> − 1, the caller and the
    /// worker each taking the next chunk until none is left: when the host slows one of the two
    /// cores, the other simply takes more chunks instead of waiting for a fixed half. With
    /// <paramref name="withdrawIfLate"/>, a worker that has not started when the caller has taken
    /// the last chunk never joins (see <see cref="InvokeUnlessLate"/>).
    /// </summary>
    public void ForEachChunk(int chunks, Action<int> body, bool withdrawIfLate = false)
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

        Post(TakeChunks, TakeChunks, withdrawIfLate);
    }

    /// <summary>Runs <paramref name="theirs"/> on the worker and <paramref name="mine"/> on the caller; returns when both are done.</summary>
    public void Invoke(Action mine, Action theirs) => Post(mine, theirs, withdrawIfLate: false);

    /// <summary>
    /// Runs <paramref name="mine"/> on the caller and offers <paramref name="theirs"/> to the worker;
    /// if the worker has not started it by the time <paramref name="mine"/> returns (descheduled by
    /// the host, or asleep), it is withdrawn and never runs, so the caller never waits for a thread
    /// to be scheduled. <paramref name="mine"/> must then have done all the work by itself.
    /// </summary>
    /// <returns>Whether the worker ran <paramref name="theirs"/>.</returns>
    public bool InvokeUnlessLate(Action mine, Action theirs) => Post(mine, theirs, withdrawIfLate: true);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool Post(Action mine, Action theirs, bool withdrawIfLate)
    {
        // One caller at a time (the owner's rule): the ticket about to be posted is the next one.
        _job = theirs;
        long ticket = Volatile.Read(ref _posted) + 1;
        Volatile.Write(ref _offer, ticket);
        Interlocked.Increment(ref _posted); // a full fence before the parking state is read
        _parking.Wake();
        bool ran = true;
        try
        {
            mine();
        }
        finally
        {
            if (withdrawIfLate && Interlocked.CompareExchange(ref _offer, 0, ticket) == ticket)
            {
                ran = false; // not taken: it never will be
            }
            else
            {
                while (Volatile.Read(ref _finished) < ticket)
                {
                    Thread.SpinWait(1);
                }
            }
        }

        if (_error is { } error)
        {
            _error = null;
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
        }

        return ran;
    }

    public void Dispose()
    {
        _stopping = true;
        _parking.Wake();
        _thread.Join();
    }

    /// <summary>5 ms: longer than any gap between hand-offs inside a training run.</summary>
    internal static TimeSpan TrainingSpinTime => TimeSpan.FromTicks(TimeSpan.TicksPerSecond / 200);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Run()
    {
        long seen = 0;
        long idleSince = System.Diagnostics.Stopwatch.GetTimestamp();
        while (!_stopping)
        {
            long ticket = Volatile.Read(ref _posted);
            if (ticket == seen)
            {
                if (_yieldWhileIdle)
                {
                    Thread.Yield();
                }
                else
                {
                    Thread.SpinWait(1);
                }

                if (_restSoon || System.Diagnostics.Stopwatch.GetTimestamp() - idleSince > _spinTicks)
                {
                    _restSoon = false;
                    _parking.Park((Worker: this, Seen: seen), static w => Volatile.Read(ref w.Worker._posted) != w.Seen || w.Worker._stopping);
                    idleSince = System.Diagnostics.Stopwatch.GetTimestamp();
                }

                continue;
            }

            // Only the latest ticket can still be on offer: earlier ones finished or were withdrawn.
            seen = ticket;
            if (Interlocked.CompareExchange(ref _offer, -ticket, ticket) == ticket)
            {
                try
                {
                    _job!();
                }
                catch (Exception ex)
                {
                    _error = ex;
                }
            }

            Volatile.Write(ref _finished, ticket);
            idleSince = System.Diagnostics.Stopwatch.GetTimestamp();
        }

        _parking.Dispose();
    }
}
