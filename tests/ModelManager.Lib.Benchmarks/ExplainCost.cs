using System.Diagnostics;
using AgeGroupAnomaly.Checkpoints;
using AgeGroupAnomaly.Storage;
using AgeGroupAnomaly.Training;

namespace AgeGroupAnomaly.Benchmarks;

/// <summary>
/// What ScoreResult.TopFeatures costs on a single score: the same cached 832 → [256, 128, 64, 32]
/// model scored with explanations off and on (k = 3), alternated in rounds, both on one core; medians in µs.
/// </summary>
internal static class ExplainCost
{
    public static async Task<int> RunAsync()
    {
        var random = new Random(3);
        float[][] rows = [.. Enumerable.Range(0, 400).Select(_ => Enumerable.Range(0, 832).Select(_ => (float)random.NextDouble()).ToArray())];
        var store = new InMemoryModelStore();
        await store.AddSamplesAsync([.. rows.Select(r => new NewSample(5, r))]);
        var checkpoints = new InMemoryCheckpointStore();
        var config = TrainingConfig.Default with { HiddenSizes = [256, 128, 64, 32], Epochs = 2 };
        // Both on one core: two managers' scoring helpers would compete for the second core and bias the comparison.
        using var off = new ModelManager(store, new ModelManagerOptions { ExplainTopFeatures = 0, SplitSingleScoresAcrossCores = false }, checkpoints: checkpoints);
        await off.TrainAgeGroupModelAsync(5, 5, config);
        using var on = new ModelManager(store, new ModelManagerOptions { ExplainTopFeatures = 3, SplitSingleScoresAcrossCores = false }, checkpoints: checkpoints);
        var offTimes = new List<double>();
        var onTimes = new List<double>();
        for (int round = 0; round < 40; round++)
        {
            offTimes.Add(await MicrosecondsAsync(off, rows));
            onTimes.Add(await MicrosecondsAsync(on, rows));
        }

        double offMedian = Median(offTimes), onMedian = Median(onTimes);
        Console.WriteLine($"single score p50 over 40 alternated rounds: explanations off {offMedian:0.0} µs, on (k = 3) {onMedian:0.0} µs, ratio {onMedian / offMedian:0.000}");
        return 0;
    }

    internal static async Task<double> MicrosecondsAsync(ModelManager manager, float[][] rows)
    {
        await manager.ScoreAsync(rows[0], 5); // loaded and warm
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < 400; i++)
        {
            await manager.ScoreAsync(rows[i], 5);
        }

        return Stopwatch.GetElapsedTime(start).TotalMicroseconds / 400;
    }

    internal static double Median(List<double> values)
    {
        double[] sorted = [.. values.Order()];
        return sorted[sorted.Length / 2];
    }
}
