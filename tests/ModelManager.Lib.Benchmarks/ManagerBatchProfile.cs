using System.Diagnostics;

namespace AgeGroupAnomaly.Benchmarks;

/// <summary>
/// <c>--manager-batch-profile</c>: a batch of 4,096 through <see cref="ModelManager.ScoreBatchAsync(IReadOnlyList{float[]}, double, CancellationToken)"/>
/// against the same model's kernel alone (with the manager's helper), alternately: what the
/// manager adds (routing, checks, copies, results).
/// </summary>
internal static class ManagerBatchProfile
{
    public static async Task<int> RunAsync()
    {
        using ProfiledModel model = await ProfiledModel.CreateAsync();
        (float[][] data, ModelManager manager, ModelManager noTop, AgeGroupTrainingResult trained, var kernel) = (model.Data, model.Manager, model.WithoutExplanations, model.Trained, model.Kernel);
        float[][] batch = [.. Enumerable.Range(0, 4096).Select(i => data[i % data.Length])];
        float[] flat = [.. batch.SelectMany(r => r)];
        await manager.ScoreBatchAsync(batch, 5);
        await noTop.ScoreBatchAsync(batch, 5);
        var noTopTimes = new List<double>();
        var errors = new double[batch.Length];
        var managerTimes = new List<double>();
        var kernelTimes = new List<double>();
        var lossTimes = new List<double>();
        ReadOnlyMemory<float>[] memories = [.. batch.Select(r => (ReadOnlyMemory<float>)r)];
        for (int round = 0; round < 9; round++)
        {
            long start = Stopwatch.GetTimestamp();
            await manager.ScoreBatchAsync(batch, 5);
            managerTimes.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            start = Stopwatch.GetTimestamp();
            await noTop.ScoreBatchAsync(batch, 5);
            noTopTimes.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            start = Stopwatch.GetTimestamp();
            kernel.ReconstructionLosses(flat, errors);
            kernelTimes.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            start = Stopwatch.GetTimestamp();
            await manager.ComputeReconstructionLossesAsync(memories, trained.ModelId);
            lossTimes.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }

        Console.WriteLine($"manager {ExplainCost.Median(managerTimes):F2} ms, with ExplainTopFeatures = 0 {ExplainCost.Median(noTopTimes):F2} ms, losses only (ComputeReconstructionLossesAsync: checks, no results) {ExplainCost.Median(lossTimes):F2} ms, kernel alone {ExplainCost.Median(kernelTimes):F2} ms (medians of 9; load {File.ReadAllText("/proc/loadavg").Trim()})");
        return 0;
    }
}
