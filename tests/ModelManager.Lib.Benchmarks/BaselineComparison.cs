using System.Diagnostics;
using AgeGroupAnomaly.Compute;
using AgeGroupAnomaly.Storage;
using AgeGroupAnomaly.Storage.Sqlite;
using AgeGroupAnomaly.Training;
using TorchSharp;

namespace AgeGroupAnomaly.Benchmarks;

/// <summary>
/// The library (default options) against <see cref="PlainTorchSharp"/>, measured alternately in
/// rounds on one thread so a neighbour's load on a shared machine hits both sides alike: one
/// embedding scored (p50), a batch of 4,096 (rows/s), training with validation (samples/s), for the
/// issue's 832 → [256, 128, 64] model and, for training, the default hidden sizes too. Every figure
/// is reported with its ratio (library ÷ baseline as a speed-up).
/// </summary>
internal static class BaselineComparison
{
    public static Dictionary<string, object> Run(bool smoke, string work)
    {
        int dimension = smoke ? 16 : 832;
        int[] hidden = smoke ? [8, 4] : [256, 128, 64];
        int rows = smoke ? 40 : 2000, epochs = smoke ? 1 : 5, rounds = smoke ? 1 : 2;
        int scoreCalls = smoke ? 50 : 1000, scoreRounds = smoke ? 1 : 3, batchRows = smoke ? 16 : 4096, batchRounds = smoke ? 1 : 7;
        // The JSON line holds numbers only (the path as its vector width in bits, 0 for scalar lanes); the names go on a line before it.
        int torchThreads = PlainTorchSharp.OneThread(() => torch.get_num_threads());
        Console.WriteLine(
            $"processor: {PlainTorchSharp.ProcessorModel()}; SIMD path: {SimdPaths.Active}; libtorch threads: {torchThreads}; " +
            $"MKL_ENABLE_INSTRUCTIONS: {Environment.GetEnvironmentVariable("MKL_ENABLE_INSTRUCTIONS") ?? "(not set)"}; load: {LoadAverage()}");
        var figures = new Dictionary<string, object>
        {
            ["simd_vector_bits"] = SimdPaths.Active switch { SimdPath.Vector512 => 512, SimdPath.Vector256 => 256, SimdPath.Vector128 => 128, _ => 0 },
            ["torch_threads"] = torchThreads,
        };

        PlainTorchSharp.OneThread(() =>
        {
            var rng = new Random(1);
            float[][] data = [.. Enumerable.Range(0, rows).Select(_ => Enumerable.Range(0, dimension).Select(_ => (float)rng.NextDouble()).ToArray())];
            var config = TrainingConfig.Default with { HiddenSizes = [.. hidden], Epochs = epochs, EarlyStoppingPatience = 1000 };
            var defaultHidden = TrainingConfig.Default with { Epochs = epochs, EarlyStoppingPatience = 1000 };
            int[] defaultSizes = [.. TrainingConfig.AutomaticHiddenSizes(dimension)];

            // Training: a warm-up of each side, then rounds of library, baseline, library (defaults), baseline (defaults).
            var trainLibrary = new List<double>();
            var trainTorch = new List<double>();
            var trainLibraryDefault = new List<double>();
            var trainTorchDefault = new List<double>();
            LibraryTrain(data, config with { Epochs = 1 });
            using (var warm = new PlainTorchSharp(dimension, hidden))
            {
                warm.Train(data, 1);
            }

            for (int r = 0; r < rounds; r++)
            {
                Progress($"training round {r + 1} of {rounds}");
                trainLibrary.Add(LibraryTrain(data, config));
                using (var plain = new PlainTorchSharp(dimension, hidden))
                {
                    trainTorch.Add(plain.Train(data, epochs));
                }

                trainLibraryDefault.Add(LibraryTrain(data, defaultHidden));
                using (var plain = new PlainTorchSharp(dimension, defaultSizes))
                {
                    trainTorchDefault.Add(plain.Train(data, epochs));
                }
            }

            Put(figures, "train_samples_per_s", trainLibrary, trainTorch, higherIsBetter: true);
            Put(figures, "train_default_hidden_samples_per_s", trainLibraryDefault, trainTorchDefault, higherIsBetter: true);

            Progress("scoring");

            // Scoring: a stored model served by a manager with default options, against the baseline's eval forward.
            string db = Path.Combine(work, "compare.db");
            using var store = new SqliteModelStore(db);
            store.AddSamplesAsync([.. data.Select(r => new NewSample(5, r))]).GetAwaiter().GetResult();
            var options = new ModelManagerOptions { CheckpointDirectory = Path.Combine(work, "compare-checkpoints"), DefaultTrainingConfig = config };
            using var manager = new ModelManager(store, options);
            manager.TrainAgeGroupModelAsync(4, 6).GetAwaiter().GetResult();
            using var compact = new ModelManager(store, new ModelManagerOptions { CheckpointDirectory = options.CheckpointDirectory, DefaultTrainingConfig = config, CompactScoringWeights = true });
            using var plainModel = new PlainTorchSharp(dimension, hidden);

            var libraryTimes = new List<double>();
            var compactTimes = new List<double>();
            var torchTimes = new List<double>();
            for (int i = 0; i < 500; i++)
            {
                manager.ScoreAsync(data[i % rows], 5).AsTask().GetAwaiter().GetResult();
                compact.ScoreAsync(data[i % rows], 5).AsTask().GetAwaiter().GetResult();
                plainModel.Score(data[i % rows]);
            }

            // A settle pause before the library's side outlasts libgomp's spinning workers from the
            // previous round's TorchSharp side (they took the second core from the scoring helper).
            // None before the TorchSharp side: the library's idle helpers yield their core, and
            // TorchSharp's p50 measured slower after such a pause for a reason not understood.
            for (int r = 0; r < scoreRounds; r++)
            {
                Settle();
                for (int i = 0; i < scoreCalls; i++)
                {
                    long start = Stopwatch.GetTimestamp();
                    manager.ScoreAsync(data[i % rows], 5).AsTask().GetAwaiter().GetResult();
                    libraryTimes.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
                }

                for (int i = 0; i < scoreCalls; i++)
                {
                    long start = Stopwatch.GetTimestamp();
                    compact.ScoreAsync(data[i % rows], 5).AsTask().GetAwaiter().GetResult();
                    compactTimes.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
                }

                for (int i = 0; i < scoreCalls; i++)
                {
                    long start = Stopwatch.GetTimestamp();
                    plainModel.Score(data[i % rows]);
                    torchTimes.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
                }
            }

            Put(figures, "score_p50_us", libraryTimes, torchTimes, higherIsBetter: false);
            figures["library_compact_score_p50_us"] = Math.Round(Median(compactTimes), 2);
            figures["compact_score_ratio"] = Math.Round(Median(torchTimes) / Median(compactTimes), 2);

            // Largest relative difference of the compact (bf16) loss from the fp32 loss over the benchmark rows.
            double worst = 0;
            foreach (float[] row in data)
            {
                double full = manager.ScoreAsync(row, 5).AsTask().GetAwaiter().GetResult().ReconstructionLoss;
                double small = compact.ScoreAsync(row, 5).AsTask().GetAwaiter().GetResult().ReconstructionLoss;
                worst = Math.Max(worst, Math.Abs(small - full) / full);
            }

            figures["library_compact_max_relative_loss_difference"] = worst;

            Progress("batch scoring");

            // A batch of 4,096 rows.
            float[][] batch = [.. Enumerable.Range(0, batchRows).Select(i => data[i % rows])];
            float[] flat = [.. batch.SelectMany(r => r)];
            var batchLibrary = new List<double>();
            var batchTorch = new List<double>();
            manager.ScoreBatchAsync(batch, 5).GetAwaiter().GetResult();
            plainModel.ScoreBatch(flat);
            // One batch is ~30 ms, so a round is short: more rounds than for single scores.
            for (int r = 0; r < batchRounds; r++)
            {
                Settle();
                long start = Stopwatch.GetTimestamp();
                manager.ScoreBatchAsync(batch, 5).GetAwaiter().GetResult();
                batchLibrary.Add(batchRows / Stopwatch.GetElapsedTime(start).TotalSeconds);
                Settle();
                start = Stopwatch.GetTimestamp();
                plainModel.ScoreBatch(flat);
                batchTorch.Add(batchRows / Stopwatch.GetElapsedTime(start).TotalSeconds);
            }

            Put(figures, "batch_rows_per_s", batchLibrary, batchTorch, higherIsBetter: true);
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            return 0;
        });

        return figures;
    }

    /// <summary>
    /// A pause between the two sides of a round, longer than either side's idle workers spin
    /// after a call (libgomp's and the library's helper's), so neither side's spinning threads take
    /// cores from the other's measurement.
    /// </summary>
    private static void Settle() => Thread.Sleep(Environment.GetEnvironmentVariable("MMLIB_COMPARE_SETTLE_MS") is { } ms ? int.Parse(ms, System.Globalization.CultureInfo.InvariantCulture) : 300);

    /// <summary>Library training throughput, samples trained per second of wall-clock time (validation and threshold included).</summary>
    private static double LibraryTrain(float[][] data, TrainingConfig config)
    {
        long start = Stopwatch.GetTimestamp();
        using TrainedAutoencoder trained = new AutoencoderTrainer(config).Train(data);
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        return (double)trained.Result.TrainCount * trained.Result.EpochsTrained / seconds;
    }

    private static void Put(Dictionary<string, object> figures, string name, List<double> library, List<double> torchSharp, bool higherIsBetter)
    {
        double lib = Median(library), baseline = Median(torchSharp);
        figures["library_" + name] = Math.Round(lib, 2);
        figures["plain_torchsharp_" + name] = Math.Round(baseline, 2);
        figures[name.Replace("_us", string.Empty, StringComparison.Ordinal).Replace("_per_s", string.Empty, StringComparison.Ordinal) + "_ratio"] =
            Math.Round(higherIsBetter ? lib / baseline : baseline / lib, 2);
    }

    private static void Progress(string step) => Console.Error.WriteLine($"{DateTime.UtcNow:HH:mm:ss} comparison: {step} (load {LoadAverage()})");

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "unknown";

    private static double Median(List<double> values)
    {
        var sorted = values.OrderBy(v => v).ToList();
        return sorted[sorted.Count / 2];
    }
}
