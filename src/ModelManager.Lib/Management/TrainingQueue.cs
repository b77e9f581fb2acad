using System.Collections.Concurrent;

namespace AgeGroupAnomaly.Management;

/// <summary>
/// Runs trainings on threads the library owns, never on thread-pool threads: a training keeps a
/// core busy for seconds to minutes, and in a web service a pool thread held that long starves
/// request handling. Jobs wait in order for a free training thread; threads start on first use
/// (a scoring-only process starts none) and end on <see cref="Dispose"/>, which also cancels the
/// running jobs and those still waiting.
/// </summary>
internal sealed class TrainingQueue(int threadCount) : IDisposable
{
    private readonly BlockingCollection<Action> _jobs = [];
    private readonly List<CancellationTokenSource> _retired = [];
    private CancellationTokenSource _stopping = new();
    private readonly List<Thread> _threads = [];
    private readonly Lock _gate = new();
    private bool _disposed;

    /// <summary>Runs <paramref name="work"/> on a training thread once one is free.</summary>
    public Task<T> RunAsync<T>(Func<CancellationToken, T> work, CancellationToken cancellationToken)
    {
        var completion = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);

        // A caller that gives up while its job waits is answered at once; the job is skipped when taken.
        CancellationTokenRegistration waiting = cancellationToken.Register(() => completion.TrySetCanceled(cancellationToken));
        CancellationToken stopping;
        void Job()
        {
            waiting.Dispose();
            if (completion.Task.IsCompleted)
            {
                return;
            }

            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, stopping);
            try
            {
                linked.Token.ThrowIfCancellationRequested();
                completion.TrySetResult(work(linked.Token));
            }
            catch (OperationCanceledException ex)
            {
                completion.TrySetCanceled(ex.CancellationToken);
            }
            catch (Exception ex)
            {
                completion.TrySetException(ex);
            }
        }

        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            stopping = _stopping.Token; // a CancelAll after this cancels this job too
            if (_threads.Count < threadCount)
            {
                var thread = new Thread(Work) { IsBackground = true, Name = $"ModelManager training {_threads.Count + 1}" };
                _threads.Add(thread);
                thread.Start();
            }

            _jobs.Add(Job, CancellationToken.None); // unbounded: never blocks
        }

        return completion.Task;
    }

    /// <summary>Cancels the running and waiting jobs (the host is stopping); later jobs still run.</summary>
    public void CancelAll()
    {
        CancellationTokenSource stopping;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            stopping = _stopping;
            _stopping = new CancellationTokenSource();
            _retired.Add(stopping); // disposed with the queue: a job may still be linking to it
        }

        stopping.Cancel();
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _jobs.CompleteAdding();
        }

        _stopping.Cancel(); // running jobs stop at their next batch, waiting ones are cancelled when taken
        foreach (Thread thread in _threads)
        {
            if (thread != Thread.CurrentThread) // disposed from a training's own callback: that thread ends when the job returns
            {
                thread.Join();
            }
        }

        _jobs.Dispose();
        _stopping.Dispose();
        _retired.ForEach(source => source.Dispose());
    }

    private void Work()
    {
        try
        {
            foreach (Action job in _jobs.GetConsumingEnumerable())
            {
                job();
            }
        }
        catch (ObjectDisposedException)
        {
            // Disposed from this thread's own job (see Dispose): the queue is gone, so is this thread.
        }
    }
}
