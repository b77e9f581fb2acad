using System.Diagnostics;

namespace AgeGroupAnomaly.Scoring;

/// <summary>
/// One process-wide helper thread that computes the upper half of every layer of a single-embedding
/// forward pass while the caller computes the lower half, so the 2 MB of weights a score must read
/// come through two cores' caches at once. Opt-in (<see cref="ModelManagerOptions.SplitSingleScoresAcrossCores"/>).
/// </summary>
/// <remarks>
/// The helper spin-waits for work for <see cref="SpinTime"/> after its last job, then sleeps; a
/// caller that finds it asleep or busy with another caller's score computes alone (and wakes it for
/// the next one), so a score never waits for a thread to be scheduled. Only one caller uses the
/// helper at a time. Each output is computed exactly as on one core, so results do not change.
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "A process-wide singleton: its parking lives as long as the process.")]
internal sealed class SecondCore
{
    /// <summary>How long the helper keeps spinning after a job before it sleeps (OpenMP runtimes spin for similar spans).</summary>
    public static readonly TimeSpan SpinTime = TimeSpan.FromMilliseconds(1);

    private static readonly Lazy<SecondCore> s_shared = new(() => new SecondCore(), LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly Compute.IdleParking _parking = new();
    private readonly long _spinTicks = (long)(SpinTime.TotalSeconds * Stopwatch.Frequency);
    private int _claimed;          // 1 while a caller owns the job slot
    private long _published;       // job number; the helper runs a job when this moves
    private int _callerLayer;      // last layer whose lower half the caller has written
    private int _helperLayer;      // last layer whose upper half the helper has written
    private InferenceKernel? _kernel;
    private float[] _input = [];
    private float[] _a = [];
    private float[] _b = [];
    private float[] _output = [];

    private SecondCore()
    {
        var thread = new Thread(Run) { IsBackground = true, Name = "ModelManager scoring helper" };
        thread.Start();
    }

    /// <summary>The helper (started on first use).</summary>
    public static SecondCore Shared => s_shared.Value;

    /// <summary>Number of scores the helper has taken half of (for tests).</summary>
    public long JobsRun => Volatile.Read(ref _published);

    /// <summary>
    /// Runs the forward pass on two cores when the helper is free and awake; false (nothing done)
    /// otherwise, and the caller computes alone.
    /// </summary>
    public bool TryForward(InferenceKernel kernel, ReadOnlySpan<float> input, Span<float> output)
    {
        if (!_parking.IsAwake)
        {
            _parking.Wake();
            return false;
        }

        if (Interlocked.CompareExchange(ref _claimed, 1, 0) != 0)
        {
            return false;
        }

        try
        {
            Prepare(kernel, input);
            Interlocked.Increment(ref _published); // a full fence: the job is visible before the parking state is read
            _parking.Wake(); // if it is going to sleep just now, woken it still runs this job

            int last = kernel.LayerCount - 1;
            for (int l = 0; l <= last; l++)
            {
                if (l > 0)
                {
                    WaitFor(ref _helperLayer, l - 1);
                }

                kernel.ForwardPart(l, _input, _a, _b, _output, 0, kernel.SplitPoint(l));
                Volatile.Write(ref _callerLayer, l);
            }

            WaitFor(ref _helperLayer, last);
            _output.AsSpan(0, kernel.InputSize).CopyTo(output);
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

    private static void WaitFor(ref int layer, int target)
    {
        while (Volatile.Read(ref layer) < target)
        {
            Thread.SpinWait(1);
        }
    }

    private void Run()
    {
        long seen = 0;
        while (true)
        {
            long start = Stopwatch.GetTimestamp();
            long job;
            while ((job = Volatile.Read(ref _published)) == seen)
            {
                Thread.SpinWait(1);
                if (Stopwatch.GetTimestamp() - start > _spinTicks)
                {
                    _parking.Park((Core: this, Seen: seen), static c => Volatile.Read(ref c.Core._published) != c.Seen);
                    start = Stopwatch.GetTimestamp();
                }
            }

            seen = job;
            InferenceKernel kernel = Volatile.Read(ref _kernel)!;
            for (int l = 0; l < kernel.LayerCount; l++)
            {
                if (l > 0)
                {
                    WaitFor(ref _callerLayer, l - 1);
                }

                kernel.ForwardPart(l, _input, _a, _b, _output, kernel.SplitPoint(l), kernel.OutputSize(l));
                Volatile.Write(ref _helperLayer, l);
            }
        }
    }
}
