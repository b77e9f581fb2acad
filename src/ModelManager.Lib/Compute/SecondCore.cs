using System.Runtime.CompilerServices;

namespace AgeGroupAnomaly.Compute;

/// <summary>
/// Splits a single-embedding forward pass across two cores: a helper thread computes the upper half
/// of every layer while the caller computes the lower half, so the weights a score must read come
/// through two cores' caches at once. Batches share their chunks out with the same helper. Owned by the <see cref="ModelManager"/> that enabled
/// <see cref="ModelManagerOptions.SplitSingleScoresAcrossCores"/> and ended with its disposal.
/// </summary>
/// <remarks>
/// The helper is a <see cref="ForkJoinWorker"/> that spins for <see cref="SpinTime"/> after a job
/// and then sleeps; while single scores overlap (concurrent callers, as in a loaded web service)
/// it sleeps and is not woken for single scores until <see cref="QuietTimeAfterOverlap"/> has passed without one. <see cref="TryForward"/> never waits for a thread to be scheduled: a caller
/// that finds the helper asleep wakes it for the next score and computes alone, and a caller that
/// finds it serving another score computes alone. Each output is computed exactly as on one core,
/// so results do not depend on which path ran.
/// </remarks>
internal sealed class SecondCore : IDisposable
{
    /// <summary>How long the helper spins after a job before it sleeps (OpenMP runtimes spin for similar spans).</summary>
    public static readonly TimeSpan SpinTime = TimeSpan.FromMilliseconds(1);

    /// <summary>
    /// After two single scores overlapped, how long the helper is neither used nor woken for single
    /// scores: concurrent callers already keep the cores busy, and a spinning helper would take
    /// a core from them.
    /// </summary>
    public static readonly TimeSpan QuietTimeAfterOverlap = TimeSpan.FromMilliseconds(20);

    private static readonly long QuietTicks = (long)(QuietTimeAfterOverlap.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);

    private readonly ForkJoinWorker _worker = new("ModelManager scoring helper", SpinTime, yieldWhileIdle: true);
    private readonly Action _callerHalves;
    private readonly Action _helperHalves;
    private int _claimed;          // 1 while a caller (or Dispose) owns the helper
    private bool _disposed;
    private int _disposeStarted;
    private long _jobsRun;
    private bool _helperComputed;
    private bool _callerMayTakeOver;  // whether the helper computed any upper half of the current score
    private int _scoresInFlight;   // single scores inside TryForward now
    private long _lastOverlap;     // Stopwatch timestamp of the last overlap of two single scores
    private int _lowerDone;        // last layer whose lower half the caller has written
    private int _upperClaimed;     // last layer whose upper half the caller or the helper has taken on
    private int _upperDone;        // last layer whose upper half is written
    private InferenceKernel? _kernel;
    private float[] _input = [];
    private float[] _a = [];
    private float[] _b = [];
    private float[] _output = [];

    public SecondCore()
    {
        // Delegates made once: a score allocates nothing but its result.
        _callerHalves = CallerHalves;
        _helperHalves = HelperHalves;
    }

    /// <summary>Scores whose upper halves the helper computed.</summary>
    public long JobsRun => Interlocked.Read(ref _jobsRun);

    /// <summary>Whether the helper thread has ended.</summary>
    public bool HasEnded => _worker.HasEnded;

    /// <summary>
    /// Runs the forward pass on two cores when the helper is free and awake; false (nothing done)
    /// otherwise, and the caller computes alone.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool TryForward(InferenceKernel kernel, ReadOnlySpan<float> input, Span<float> output)
    {
        bool overlapping = Interlocked.Increment(ref _scoresInFlight) > 1;
        try
        {
            long now = System.Diagnostics.Stopwatch.GetTimestamp();
            if (overlapping)
            {
                // Another score runs now: the cores are taken by callers; let the helper sleep.
                Volatile.Write(ref _lastOverlap, now);
                _worker.Rest();
                return false;
            }

            if (now - Volatile.Read(ref _lastOverlap) < QuietTicks)
            {
                return false;
            }

            if (!_worker.IsAwake)
            {
                if (!Volatile.Read(ref _disposed))
                {
                    _worker.Wake();
                }

                return false;
            }

            return TryClaim() && ForwardClaimed(kernel, input, output, callerMayTakeOver: true);
        }
        finally
        {
            Interlocked.Decrement(ref _scoresInFlight);
        }
    }

    /// <summary>
    /// Runs <paramref name="body"/> for chunks 0 … <paramref name="chunks"/> − 1 on the caller and
    /// the helper (each taking the next chunk until none is left; a sleeping helper is woken and
    /// joins when it runs); false (nothing done) while another caller uses the helper or after disposal.
    /// For batches, whose work dwarfs a wake-up.
    /// </summary>
    public bool TryForEachChunk(int chunks, Action<int> body)
    {
        if (!TryClaim())
        {
            return false;
        }

        try
        {
            _worker.ForEachChunk(chunks, body, withdrawIfLate: true);
            return true;
        }
        finally
        {
            Volatile.Write(ref _claimed, 0);
        }
    }

    /// <summary>Runs the forward pass on two cores, waiting for the helper if it sleeps; false only after disposal or while another caller uses it.</summary>
    internal bool Forward(InferenceKernel kernel, ReadOnlySpan<float> input, Span<float> output) =>
        TryClaim() && ForwardClaimed(kernel, input, output, callerMayTakeOver: false);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposeStarted, 1) != 0)
        {
            return; // the first Dispose holds the claim for good
        }

        Volatile.Write(ref _disposed, true);
        SpinWait spin = default;
        while (Interlocked.CompareExchange(ref _claimed, 1, 0) != 0)
        {
            spin.SpinOnce(); // a score in progress finishes first
        }

        _worker.Dispose();
    }

    private bool TryClaim()
    {
        if (Interlocked.CompareExchange(ref _claimed, 1, 0) != 0)
        {
            return false;
        }

        if (Volatile.Read(ref _disposed))
        {
            Volatile.Write(ref _claimed, 0);
            return false;
        }

        return true;
    }

    // callerMayTakeOver: whether the caller takes upper halves the helper has not started and
    // withdraws a job the helper has not taken (scores); false makes the helper compute every upper half (tests).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool ForwardClaimed(InferenceKernel kernel, ReadOnlySpan<float> input, Span<float> output, bool callerMayTakeOver)
    {
        try
        {
            Prepare(kernel, input);
            _callerMayTakeOver = callerMayTakeOver;
            bool helperRan = callerMayTakeOver ? _worker.InvokeUnlessLate(_callerHalves, _helperHalves) : Invoke(_callerHalves, _helperHalves);
            if (helperRan && Volatile.Read(ref _helperComputed))
            {
                Interlocked.Increment(ref _jobsRun);
            }

            _output.AsSpan(0, kernel.InputSize).CopyTo(output);
            return true;
        }
        finally
        {
            _kernel = null;
            Volatile.Write(ref _claimed, 0);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Prepare(InferenceKernel kernel, ReadOnlySpan<float> input)
    {
        if (_a.Length < kernel.MaxWidth)
        {
            _a = new float[kernel.MaxWidth];
            _b = new float[kernel.MaxWidth];
        }

        if (_input.Length < kernel.InputSize)
        {
            _input = new float[kernel.InputSize];
            _output = new float[kernel.InputSize];
        }

        input.CopyTo(_input);
        _kernel = kernel;
        Volatile.Write(ref _lowerDone, -1);
        Volatile.Write(ref _upperDone, -1);
        Volatile.Write(ref _helperComputed, false);
        Volatile.Write(ref _upperClaimed, -1);
    }

    // Layer l needs all of layer l − 1. The caller computes every lower half and then takes the
    // upper half too unless the helper has already taken it on, so a helper that the host has not
    // scheduled never holds the caller up: it is simply not used (and its job withdrawn).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void CallerHalves()
    {
        InferenceKernel kernel = _kernel!;
        for (int l = 0; l < kernel.LayerCount; l++)
        {
            WaitFor(ref _upperDone, l - 1); // only waits for a half the helper is computing
            kernel.ForwardPart(l, _input, _a, _b, _output, 0, kernel.SplitPoint(l));
            Volatile.Write(ref _lowerDone, l);
            if (_callerMayTakeOver && Interlocked.CompareExchange(ref _upperClaimed, l, l - 1) == l - 1)
            {
                kernel.ForwardPart(l, _input, _a, _b, _output, kernel.SplitPoint(l), kernel.OutputSize(l));
                Volatile.Write(ref _upperDone, l);
            }
        }

        WaitFor(ref _upperDone, kernel.LayerCount - 1);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void HelperHalves()
    {
        InferenceKernel kernel = _kernel!;
        for (int l = 0; l < kernel.LayerCount; l++)
        {
            // Wait for layer l − 1, unless the caller has already taken this layer's upper half on.
            while (Volatile.Read(ref _lowerDone) < l - 1 || Volatile.Read(ref _upperDone) < l - 1)
            {
                if (Volatile.Read(ref _upperClaimed) >= l)
                {
                    break;
                }

                Thread.SpinWait(1);
            }

            if (Interlocked.CompareExchange(ref _upperClaimed, l, l - 1) == l - 1)
            {
                kernel.ForwardPart(l, _input, _a, _b, _output, kernel.SplitPoint(l), kernel.OutputSize(l));
                Volatile.Write(ref _helperComputed, true);
                Volatile.Write(ref _upperDone, l);
            }
        }
    }

    private bool Invoke(Action mine, Action theirs)
    {
        _worker.Invoke(mine, theirs);
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WaitFor(ref int layer, int target)
    {
        while (Volatile.Read(ref layer) < target)
        {
            Thread.SpinWait(1);
        }
    }
}
