using AgeGroupAnomaly.Storage;
using AgeGroupAnomaly.Training;

namespace AgeGroupAnomaly.Benchmarks;

/// <summary>
/// A child process for the tests: trains on the CPU and scores through the public API, then says
/// whether libtorch was mapped into the process (read from /proc/self/maps).
/// </summary>
internal static class NativeLoadCheck
{
    public static async Task<int> RunAsync(string checkpoints)
    {
        var random = new Random(5);
        var store = new InMemoryModelStore();
        for (int i = 0; i < 40; i++)
        {
            float[] embedding = [.. Enumerable.Range(0, 24).Select(_ => (float)random.NextDouble())];
            await store.AddSampleAsync(new NewSample(4 + (i % 2), embedding));
        }

        var manager = new ModelManager(store, new ModelManagerOptions { CheckpointDirectory = checkpoints });
        var config = new TrainingConfig { HiddenSizes = [12, 6], Epochs = 3, BatchSize = 8 };
        await manager.TrainAgeGroupModelAsync(4, 5, config);
        var score = await manager.ScoreAsync(new float[24], 4.5);
        bool mapped = File.ReadAllText("/proc/self/maps").Contains("libtorch", StringComparison.Ordinal);
        Console.WriteLine($"scored {score.ReconstructionLoss > 0}; libtorch mapped {mapped}");
        return 0;
    }
}
