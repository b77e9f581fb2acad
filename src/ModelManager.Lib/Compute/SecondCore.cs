using AgeGroupAnomaly.Compute;

namespace AgeGroupAnomaly.Compute;

/// <summary>
/// Splits a single-embedding forward pass across two cores: a helper thread computes the upper half
/// of every layer while the caller computes the lower half, so the weights a score must read come
/// through two cores' caches at once. Batches share their chunks out with the same helper. Owned by the <see cref="ModelManager"/> that enabled
/// <see cref="ModelManagerOptions.SplitSingleScoresAcrossCores"/> and ended with its disposal.
/// </summary>
/// <remarks>
/// The helper is a <see cref="ForkJoinWorker"/> that spins for <see cref="SpinTime"/> after a job
/// and then sleeps. <see cref="TryForward"/> never waits for a thread to be scheduled: a caller
/// that finds the helper asleep wakes it for the next score and computes alone, and a caller that
/// finds it serving another score computes alone. Each output is computed exactly as on one core,
/// so results do not depend on which path ran.
/// </remarks>
internal sealed class SecondCore : IDisposable
{
    /// <summary>How long the helper spins after a job before it sleeps (OpenMP runtimes spin for similar spans).</summary>
    public static readonly TimeSpan SpinTime = TimeSpan.FromMilliseconds(1);

    private readonly ForkJoinWorker _worker = new("ModelManager scoring helper", SpinTime);
    private readonly Action _callerHalves;
    private readonly Action _helperHalves;
    private int _claimed;          // 1 while a caller (or Dispose) owns the helper
    private bool _disposed;
    private int _disposeStarted;
    private long _jobsRun;
    private int _callerLayer;      // last layer whose lower half the caller has written
    private int _helperLayer;      // last layer whose upper half the helper has written
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
    public bool TryForward(InferenceKernel kernel, ReadOnlySpan<float> input, Span<float> output)
    {
        if (!_worker.IsAwake)
        {
            if (!Volatile.Read(ref _disposed))
            {
                _worker.Wake();
            }

            return false;
        }

        return TryClaim() && ForwardClaimed(kernel, input, output);
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
            _worker.ForEachChunk(chunks, body);
            return true;
        }
        finally
        {
            Volatile.Write(ref _claimed, 0);
        }
    }

    /// <summary>Runs the forward pass on two cores, waiting for the helper if it sleeps; false only after disposal or while another caller uses it.</summary>
    internal bool Forward(InferenceKernel kernel, ReadOnlySpan<float> input, Span<float> output) =>
        TryClaim() && ForwardClaimed(kernel, input, output);

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

    private bool ForwardClaimed(InferenceKernel kernel, ReadOnlySpan<float> input, Span<float> output)
    {
        try
        {
            Prepare(kernel, input);
            _worker.Invoke(_callerHalves, _helperHalves);
            _output.AsSpan(0, kernel.InputSize).CopyTo(output);
            Interlocked.Increment(ref _jobsRun);
            return true;
        }
        finally
        {
            _kernel = null;
            Volatile.Write(ref _claimed, 0);
        }
    }

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
        Volatile.Write(ref _callerLayer, -1);
        Volatile.Write(ref _helperLayer, -1);
    }

    // Layer l of one half needs layer l - 1 of the other half: each side waits for the other's previous layer.
    private void CallerHalves()
    {
        InferenceKernel kernel = _kernel!;
        for (int l = 0; l < kernel.LayerCount; l++)
        {
            WaitFor(ref _helperLayer, l - 1);
            kernel.ForwardPart(l, _input, _a, _b, _output, 0, kernel.SplitPoint(l));
            Volatile.Write(ref _callerLayer, l);
        }
    }

    private void HelperHalves()
    {
        InferenceKernel kernel = _kernel!;
        for (int l = 0; l < kernel.LayerCount; l++)
        {
            WaitFor(ref _callerLayer, l - 1);
            kernel.ForwardPart(l, _input, _a, _b, _output, kernel.SplitPoint(l), kernel.OutputSize(l));
            Volatile.Write(ref _helperLayer, l);
        }
    }

    private static void WaitFor(ref int layer, int target)
    {
        while (Volatile.Read(ref layer) < target)
        {
            Thread.SpinWait(1);
        }
    }
}
