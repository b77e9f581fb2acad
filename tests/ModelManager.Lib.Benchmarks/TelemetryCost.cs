using System.Diagnostics.Metrics;
using AgeGroupAnomaly.Checkpoints;
using AgeGroupAnomaly.Storage;
using AgeGroupAnomaly.Training;

namespace AgeGroupAnomaly.Benchmarks;

/// <summary>
/// What the "ModelManager.Lib" metrics cost on a single score: one cached 832 → [256, 128, 64, 32]
/// model (explanations off, as in --explain-cost's "off"), scored with no listener and with a
/// MeterListener that enables and aggregates every instrument, alternated in rounds; medians in µs.
/// </summary>
internal static class TelemetryCost
{
    public static async Task<int> RunAsync()
    {
        var random = new Random(3);
        float[][] rows = [.. Enumerable.Range(0, 400).Select(_ => Enumerable.Range(0, 832).Select(_ => (float)random.NextDouble()).ToArray())];
        var store = new InMemoryModelStore();
        await store.AddSamplesAsync([.. rows.Select(r => new NewSample(5, r))]);
        using var manager = new ModelManager(store, new ModelManagerOptions { ExplainTopFeatures = 0 }, checkpoints: new InMemoryCheckpointStore());
        await manager.TrainAgeGroupModelAsync(5, 5, TrainingConfig.Default with { HiddenSizes = [256, 128, 64, 32], Epochs = 2 });

        long measurements = 0;
        double seconds = 0;
        var without = new List<double>();
        var with = new List<double>();
        for (int round = 0; round < 40; round++)
        {
            without.Add(await ExplainCost.MicrosecondsAsync(manager, rows));
            using var listener = new MeterListener
            {
                InstrumentPublished = (instrument, l) =>
                {
                    if (instrument.Meter.Name == "ModelManager.Lib")
                    {
                        l.EnableMeasurementEvents(instrument);
                    }
                },
            };
            listener.SetMeasurementEventCallback<long>((_, value, _, _) => measurements += value);
            listener.SetMeasurementEventCallback<double>((_, value, _, _) => seconds += value);
            listener.Start();
            with.Add(await ExplainCost.MicrosecondsAsync(manager, rows));
        }

        double a = ExplainCost.Median(without), b = ExplainCost.Median(with);
        Console.WriteLine($"single score p50 over 40 alternated rounds: no listener {a:0.0} µs, MeterListener on every instrument {b:0.0} µs, ratio {b / a:0.000} ({measurements} counts seen, {seconds:0.000} s of durations)");
        return 0;
    }
}
