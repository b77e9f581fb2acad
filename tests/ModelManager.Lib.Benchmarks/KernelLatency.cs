using System.Diagnostics;
using AgeGroupAnomaly.Compute;
using AgeGroupAnomaly.Modeling;

namespace AgeGroupAnomaly.Benchmarks;

/// <summary>
/// <c>--kernel-latency</c>: p50 of one 832 → [256, 128, 64] score straight through the kernel
/// (float32 and bfloat16 weights, on one core and split across two), on whatever SIMD path this process takes; run it under
/// <c>DOTNET_EnableAVX512=0</c>, <c>DOTNET_EnableAVX2=0</c> and <c>DOTNET_EnableHWIntrinsic=0</c>
/// to compare the paths. The helper share is the fraction of split scores the second core took part in. No libtorch.
/// </summary>
internal static class KernelLatency
{
    // Scores per kernel, the first Warmup of them not timed; the helper's share counts all of them.
    private const int Scores = 7000;
    private const int Warmup = 2000;

    public static int Run()
    {
        var architecture = new ArchitectureInfo(832, [256, 128, 64], 0.1);
        var rng = new Random(5);
        ModelWeights weights = RandomModel.Weights(architecture, rng);
        float[][] rows = [.. Enumerable.Range(0, 64).Select(_ => Enumerable.Range(0, 832).Select(_ => (float)rng.NextDouble()).ToArray())];
        double full = P50(new InferenceKernel(weights), rows);
        double compact = P50(new InferenceKernel(weights, compactWeights: true), rows);
        using var helper = new SecondCore();
        double split = P50(new InferenceKernel(weights) { SecondCore = helper }, rows);
        long splitJobs = helper.JobsRun;
        double compactSplit = P50(new InferenceKernel(weights, compactWeights: true) { SecondCore = helper }, rows);
        long compactSplitJobs = helper.JobsRun - splitJobs;
        Console.WriteLine(
            $"{{\"simd_path\":\"{SimdPaths.Active}\",\"kernel_p50_us\":{full:F2},\"kernel_compact_p50_us\":{compact:F2}," +
            $"\"kernel_two_cores_p50_us\":{split:F2},\"kernel_compact_two_cores_p50_us\":{compactSplit:F2}," +
            $"\"two_cores_helper_share\":{splitJobs / (double)Scores:F2},\"compact_two_cores_helper_share\":{compactSplitJobs / (double)Scores:F2}}}");
        return 0;
    }

    private static double P50(InferenceKernel kernel, float[][] rows)
    {
        for (int i = 0; i < Warmup; i++)
        {
            kernel.ReconstructionLoss(rows[i % rows.Length]);
        }

        var times = new double[Scores - Warmup];
        for (int i = 0; i < times.Length; i++)
        {
            long start = Stopwatch.GetTimestamp();
            kernel.ReconstructionLoss(rows[i % rows.Length]);
            times[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }

        Array.Sort(times);
        return times[times.Length / 2];
    }
}
