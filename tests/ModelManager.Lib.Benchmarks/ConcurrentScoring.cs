using System.Diagnostics;
using AgeGroupAnomaly.Compute;
using AgeGroupAnomaly.Modeling;

namespace AgeGroupAnomaly.Benchmarks;

/// <summary>
/// <c>--concurrent-scoring</c>: does splitting single scores across cores (the default) hurt
/// concurrent callers? 1, 2, 4 and 8 threads score the 832 → [256, 128, 64] model for a fixed time
/// each, with and without the helper (alternately, same process), optionally doing
/// <c>work</c> µs of other CPU work between scores as a web request's handling would. Prints
/// scores per second and the p50/p99 of one score per case.
/// </summary>
internal static class ConcurrentScoring
{
    public static int Run()
    {
        var architecture = new ArchitectureInfo(832, [256, 128, 64], 0.1);
        var rng = new Random(5);
        ModelWeights weights = RandomModel.Weights(architecture, rng);
        float[][] rows = [.. Enumerable.Range(0, 64).Select(_ => Enumerable.Range(0, 832).Select(_ => (float)rng.NextDouble()).ToArray())];
        using var helper = new SecondCore();
        var alone = new InferenceKernel(weights);
        var split = new InferenceKernel(weights) { SecondCore = helper };
        Console.WriteLine($"SIMD path {SimdPaths.Active}; load {File.ReadAllText("/proc/loadavg").Trim()}");
        Console.WriteLine("threads | work between scores (µs) | helper | scores/s | p50 µs | p99 µs");
        foreach (int work in new[] { 0, 200 })
        {
            foreach (int threads in new[] { 1, 2, 4, 8 })
            {
                for (int round = 0; round < 2; round++)
                {
                    foreach ((string name, InferenceKernel kernel) in new[] { ("off", alone), ("on", split) })
                    {
                        (double perSecond, double p50, double p99) = Measure(kernel, rows, threads, work, TimeSpan.FromMilliseconds(1500));
                        Console.WriteLine($"{threads} | {work} | {name} | {perSecond:F0} | {p50:F1} | {p99:F1}");
                    }
                }
            }
        }

        return 0;
    }

    private static (double PerSecond, double P50, double P99) Measure(InferenceKernel kernel, float[][] rows, int threads, int workMicroseconds, TimeSpan duration)
    {
        var times = new List<double>[threads];
        long workTicks = (long)(workMicroseconds * 1e-6 * Stopwatch.Frequency);
        long end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            var mine = new List<double>(100_000);
            int i = t;
            while (Stopwatch.GetTimestamp() < end)
            {
                long start = Stopwatch.GetTimestamp();
                kernel.ReconstructionLoss(rows[i++ % rows.Length]);
                mine.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
                long until = Stopwatch.GetTimestamp() + workTicks;
                while (Stopwatch.GetTimestamp() < until)
                {
                    // the request's other work
                }
            }

            times[t] = mine;
        })).ToList();
        long begin = Stopwatch.GetTimestamp();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());
        double seconds = Stopwatch.GetElapsedTime(begin).TotalSeconds;
        double[] all = [.. times.SelectMany(x => x).Order()];
        return (all.Length / seconds, all[all.Length / 2], all[(int)(all.Length * 0.99)]);
    }
}
