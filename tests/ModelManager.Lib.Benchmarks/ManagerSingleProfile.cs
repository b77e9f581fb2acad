using System.Diagnostics;

namespace AgeGroupAnomaly.Benchmarks;

/// <summary>
/// <c>--manager-single-profile</c>: single scores of an 832 → [256, 128, 64] model through
/// <see cref="ModelManager.ScoreAsync(ReadOnlyMemory{float}, double, CancellationToken)"/> (default
/// options, then without explanations) against the same model's kernel alone (with the manager's
/// helper), alternated in rounds: what the manager adds to a single score. p50s in µs.
/// </summary>
internal static class ManagerSingleProfile
{
    private const int CallsPerRound = 500;

    public static async Task<int> RunAsync()
    {
        using ProfiledModel model = await ProfiledModel.CreateAsync();
        (float[][] data, ModelManager manager, ModelManager noTop, var kernel) = (model.Data, model.Manager, model.WithoutExplanations, model.Kernel);
        var managerTimes = new List<double>();
        var noTopTimes = new List<double>();
        var kernelTimes = new List<double>();
        var compactTimes = new List<double>();
        var compactKernelTimes = new List<double>();
        for (int round = 0; round < 10; round++)
        {
            for (int i = 0; i < CallsPerRound; i++)
            {
                long start = Stopwatch.GetTimestamp();
                await manager.ScoreAsync(data[i % data.Length], 5);
                managerTimes.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
            }

            for (int i = 0; i < CallsPerRound; i++)
            {
                long start = Stopwatch.GetTimestamp();
                await noTop.ScoreAsync(data[i % data.Length], 5);
                noTopTimes.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
            }

            for (int i = 0; i < CallsPerRound; i++)
            {
                long start = Stopwatch.GetTimestamp();
                kernel.ReconstructionLoss(data[i % data.Length]);
                kernelTimes.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
            }

            for (int i = 0; i < CallsPerRound; i++)
            {
                long start = Stopwatch.GetTimestamp();
                await model.Compact.ScoreAsync(data[i % data.Length], 5);
                compactTimes.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
            }

            for (int i = 0; i < CallsPerRound; i++)
            {
                long start = Stopwatch.GetTimestamp();
                model.CompactKernel.ReconstructionLoss(data[i % data.Length]);
                compactKernelTimes.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
            }
        }

        // The top-3 pass alone over one score's 832 squared errors.
        double[] squared = [.. data[0].Select(v => (double)v * v)];
        var top = new FeatureLoss[3];
        var topTimes = new List<double>();
        for (int i = 0; i < 10 * CallsPerRound; i++)
        {
            long start = Stopwatch.GetTimestamp();
            Compute.InferenceKernel.TopFeatures(squared, top);
            topTimes.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
        }

        // The first round warms up (models loaded, helper awake): left out.
        Console.WriteLine(
            $"single score p50: manager {P50(managerTimes):F1} µs, with ExplainTopFeatures = 0 {P50(noTopTimes):F1} µs, " +
            $"kernel alone {P50(kernelTimes):F1} µs; bfloat16 weights: manager {P50(compactTimes):F1} µs, kernel alone {P50(compactKernelTimes):F1} µs; top-3 pass alone {P50(topTimes):F2} µs (rounds 2-10 of {CallsPerRound} calls each; load {File.ReadAllText("/proc/loadavg").Trim()})");
        return 0;
    }

    private static double P50(List<double> times)
    {
        double[] sorted = [.. times.Skip(CallsPerRound).Order()];
        return sorted[sorted.Length / 2];
    }
}
