using System.Diagnostics;
using System.Text.Json;
using AgeGroupAnomaly.Training;
using TorchSharp;

namespace AgeGroupAnomaly.Benchmarks;

/// <summary>Measures the headline figures once and prints them as one JSON line.</summary>
internal static class QuickMode
{
    public static int Run(string[] args)
    {
        bool smoke = args.Contains("--smoke"); // tiny sizes: proves the program runs, not how fast
        var figures = new Dictionary<string, object>
        {
            ["matmul_gflops"] = Math.Round(MatmulGflops(smoke ? 128 : 1024, smoke ? 3 : 20), 1),
            ["train_samples_per_s"] = Math.Round(TrainSamplesPerSecond(smoke ? 100 : 2000, smoke ? 32 : 832, smoke ? 1 : 5)),
        };
        Console.WriteLine(JsonSerializer.Serialize(figures));
        return 0;
    }

    private static double MatmulGflops(int n, int repeats)
    {
        using var a = torch.randn(n, n);
        using var b = torch.randn(n, n);
        using (a.matmul(b))
        {
        }

        var times = new List<double>();
        for (int i = 0; i < repeats; i++)
        {
            var watch = Stopwatch.StartNew();
            using (a.matmul(b))
            {
            }

            times.Add(watch.Elapsed.TotalSeconds);
        }

        return 2.0 * n * n * n / Median(times) / 1e9;
    }

    private static double TrainSamplesPerSecond(int rows, int dimension, int epochs)
    {
        var rng = new Random(1);
        float[] data = [.. Enumerable.Range(0, rows * dimension).Select(_ => (float)rng.NextDouble())];
        var config = TrainingConfig.Default with { HiddenSizes = [256, 128, 64], Epochs = epochs, EarlyStoppingPatience = 1000 };
        var trainer = new AutoencoderTrainer(config);
        using (trainer.Train(data, dimension))
        {
            // warm-up run
        }

        var watch = Stopwatch.StartNew();
        using TrainedAutoencoder trained = trainer.Train(data, dimension);
        double seconds = trained.Result.History.Sum(h => h.Duration.TotalSeconds);
        _ = watch;
        return (double)trained.Result.TrainCount * trained.Result.EpochsTrained / seconds;
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return values[values.Count / 2];
    }
}
