using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using AgeGroupAnomaly.Modeling;
using AgeGroupAnomaly.Storage;
using AgeGroupAnomaly.Storage.Sqlite;
using AgeGroupAnomaly.Training;
using TorchSharp;

namespace AgeGroupAnomaly.Benchmarks;

/// <summary>
/// Measures the headline figures once, in one run, and prints them as one JSON line: first the
/// library against a plain TorchSharp program (<see cref="BaselineComparison"/>: ratios, SIMD path,
/// processor), then the library's own figures. <c>--compare</c> stops after the comparison;
/// <c>--smoke</c> uses tiny sizes: it proves the program works, not how fast anything is.
/// </summary>
internal static class QuickMode
{
    public static async Task<int> RunAsync(string[] args)
    {
        bool smoke = args.Contains("--smoke");
        Sizes s = smoke ? Sizes.Smoke : Sizes.Full;
        string work = Path.Combine(Path.GetTempPath(), "mmlib-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(work);
        try
        {
            // First the headline: the library against a plain TorchSharp program, alternately, on one thread.
            var figures = BaselineComparison.Run(smoke, work);
            if (args.Contains("--compare"))
            {
                Console.WriteLine(JsonSerializer.Serialize(figures));
                return 0;
            }

            // The yardstick is sampled before, between and after the other figures (median of the
            // three), so a neighbour's load on this shared machine skews the ratios less.
            var yardstick = new List<double> { MatmulGflops(s.MatmulSize, s.MatmulRepeats) };

            float[][] data = Data(s.Rows, s.Dimension, seed: 1);
            var config = TrainingConfig.Default with { HiddenSizes = [.. s.Hidden], Epochs = s.Epochs, EarlyStoppingPatience = 1000 };
            (double samplesPerSecond, double firstRunSamplesPerSecond) = TrainSamplesPerSecond(data, config);
            yardstick.Add(MatmulGflops(s.MatmulSize, s.MatmulRepeats));
            var architecture = new ArchitectureInfo(s.Dimension, [.. s.Hidden], 0.1);
            figures["train_samples_per_s"] = Math.Round(samplesPerSecond);
            figures["train_first_run_samples_per_s"] = Math.Round(firstRunSamplesPerSecond);
            (double managedStepUs, double torchStepUs) = TrainingStepMicroseconds(s);
            figures["train_batch_step_us"] = Round(managedStepUs);
            figures["train_batch_step_torchsharp_us"] = Round(torchStepUs);
            figures["train_default_config_samples_per_s"] = Math.Round(TrainSamplesPerSecond(data, TrainingConfig.Default with { Epochs = s.Epochs, EarlyStoppingPatience = 1000 }).Warm);
            figures["train_one_thread_samples_per_s"] = Math.Round(TrainSamplesPerSecond(data, config with { CpuThreads = 1 }).Warm);

            string db = Path.Combine(work, "models.db");
            string checkpoints = Path.Combine(work, "checkpoints");
            using var store = new SqliteModelStore(db);
            await store.AddSamplesAsync([.. data.Select(r => new NewSample(5, r))]);
            var manager = new ModelManager(store, new ModelManagerOptions { CheckpointDirectory = checkpoints, DefaultTrainingConfig = config });
            AgeGroupTrainingResult trained = await manager.TrainAgeGroupModelAsync(4, 6);

            figures["torchsharp_forward_us"] = Round(TorchSharpForwardMicroseconds(trained, data[0], s.ScoreCalls));
            (double readGbps, double floorUs) = WeightStreamFloor(trained.Training.Weights, s.ScoreCalls);
            figures["weights_read_gbps"] = Round(readGbps);
            figures["score_floor_us"] = Round(floorUs);
            figures["weights_read_two_cores_gbps"] = Round(TwoCoreWeightStream(trained.Training.Weights, s.ScoreCalls));
            (double p50, double p99, double alloc) = await ScoreLatencyAsync(manager, data, s.ScoreCalls);
            figures["score_p50_us"] = Round(p50);
            figures["score_p99_us"] = Round(p99);
            figures["score_alloc_bytes"] = Math.Round(alloc);
            var twoCores = new ModelManager(store, new ModelManagerOptions { CheckpointDirectory = checkpoints, DefaultTrainingConfig = config, SplitSingleScoresAcrossCores = true });
            (double p50Two, double p99Two, double allocTwo) = await ScoreLatencyAsync(twoCores, data, s.ScoreCalls);
            figures["score_two_cores_p50_us"] = Round(p50Two);
            figures["score_two_cores_p99_us"] = Round(p99Two);
            figures["score_two_cores_alloc_bytes"] = Math.Round(allocTwo);

            double batchPerSecond = await BatchScoresPerSecondAsync(manager, data, s.BatchRows);
            yardstick.Add(MatmulGflops(s.MatmulSize, s.MatmulRepeats));
            double gflops = Median(yardstick);
            figures["matmul_gflops"] = Round(gflops);
            figures["train_pct_of_matmul"] = Round(100 * 3 * 2 * architecture.MultiplyAccumulatesPerSample * samplesPerSecond / (gflops * 1e9));
            figures["batch_score_per_s"] = Math.Round(batchPerSecond);
            figures["batch_pct_of_matmul"] = Round(100 * 2 * architecture.MultiplyAccumulatesPerSample * batchPerSecond / (gflops * 1e9));
            figures["load_ms"] = Round(await LoadMillisecondsAsync(manager, trained.ModelId, s.Dimension, s.Loads));

            figures["scoring_process_rss_mb"] = Round(await ScoringProcessRssMegabytesAsync(manager, store, data, db, checkpoints, s));
            figures["train_rss_growth_pct"] = Round(await TrainingRssGrowthPercentAsync(manager, s.RssTrainings));

            Console.WriteLine(JsonSerializer.Serialize(figures));
            return 0;
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(work, recursive: true);
        }
    }

    private static double Round(double value) => Math.Round(value, 2);

    private static float[][] Data(int rows, int dimension, int seed)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, rows).Select(_ => Enumerable.Range(0, dimension).Select(_ => (float)rng.NextDouble()).ToArray())];
    }

    private static double MatmulGflops(int n, int repeats)
    {
        using var a = torch.randn(n, n);
        using var b = torch.randn(n, n);
        var times = new List<double>();
        for (int i = 0; i <= repeats; i++)
        {
            long start = Stopwatch.GetTimestamp();
            using (a.matmul(b))
            {
            }

            if (i > 0)
            {
                times.Add(Stopwatch.GetElapsedTime(start).TotalSeconds); // the first run is warm-up
            }
        }

        return 2.0 * n * n * n / Median(times) / 1e9;
    }

    /// <summary>
    /// Training throughput of a second run of the same configuration (training + validation
    /// passes): a schedule retrains many groups in one process, and the first run also pays for
    /// just-in-time compilation of framework code. The first run's figure is the second value.
    /// </summary>
    private static (double Warm, double First) TrainSamplesPerSecond(float[][] data, TrainingConfig config)
    {
        using TrainedAutoencoder first = new AutoencoderTrainer(config).Train(data);
        using TrainedAutoencoder trained = new AutoencoderTrainer(config).Train(data);
        return (Rate(trained.Result), Rate(first.Result));

        static double Rate(TrainingResult r) => (double)r.TrainCount * r.EpochsTrained / r.History.Sum(h => h.Duration.TotalSeconds);
    }

    /// <summary>Median time of one whole training step on a batch of 32: the managed engine, and TorchSharp's modules + Adam.</summary>
    private static (double Managed, double TorchSharp) TrainingStepMicroseconds(Sizes s)
    {
        var rng = new Random(1);
        float[] data = [.. Enumerable.Range(0, 32 * s.Dimension).Select(_ => (float)rng.NextDouble())];
        int[] rows = [.. Enumerable.Range(0, 32)];
        torch.manual_seed(1);
        using var model = new AutoencoderModel(s.Dimension, [.. s.Hidden]);
        using var managed = new CpuTrainingEngine(model.ToWeights(), data, 32, 0.001, dropoutSeed: 1, threads: Environment.ProcessorCount);
        using var reference = new TorchTrainingEngine(model, data, s.Dimension, torch.CPU, 0.001, dropoutSeed: 1);
        return (StepMedian(managed), StepMedian(reference));

        double StepMedian(ITrainingEngine engine)
        {
            var times = new List<double>();
            for (int i = 0; i < s.PhaseBatches + 20; i++)
            {
                long start = Stopwatch.GetTimestamp();
                engine.TrainBatch(rows, 1.0);
                if (i >= 20)
                {
                    times.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
                }
            }

            return Median(times);
        }
    }

    private static double TorchSharpForwardMicroseconds(AgeGroupTrainingResult trained, float[] row, int calls)
    {
        using var model = AutoencoderModel.FromWeights(trained.Training.Weights);
        using var noGrad = torch.no_grad();
        var times = new List<double>(calls);
        for (int i = 0; i < calls + 100; i++)
        {
            long start = Stopwatch.GetTimestamp();
            using (var scope = torch.NewDisposeScope())
            {
                torch.Tensor x = torch.tensor(row, [1, row.Length]);
                _ = torch.nn.functional.mse_loss(model.forward(x), x).item<float>();
            }

            if (i >= 100)
            {
                times.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
            }
        }

        return Median(times);
    }

    /// <summary>
    /// How fast one core reads the model's weights once, as a single score must: the rate of a
    /// vectorised sum over every weight array, and the time one pass therefore takes at least.
    /// </summary>
    private static (double Gbps, double FloorUs) WeightStreamFloor(AgeGroupAnomaly.Modeling.ModelWeights weights, int passes)
    {
        float[][] arrays = [.. weights.Layers.SelectMany(l => new[] { l.Weight, l.Bias })];
        long bytes = arrays.Sum(a => (long)a.Length * sizeof(float));
        var times = new List<double>(passes);
        float sink = 0;
        for (int i = 0; i < passes + 100; i++)
        {
            long start = Stopwatch.GetTimestamp();
            foreach (float[] a in arrays)
            {
                sink += ReadAll(a);
            }

            if (i >= 100)
            {
                times.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
            }
        }

        double us = Median(times) + (sink * 0); // keep the sums alive
        return (bytes / us / 1e3, us);
    }

    /// <summary>
    /// The same read done by two threads at once, each over its own copy of the weights: the
    /// combined rate says how much of one core's rate a second core adds for this kind of work.
    /// </summary>
    private static double TwoCoreWeightStream(AgeGroupAnomaly.Modeling.ModelWeights weights, int passes)
    {
        float[][][] copies = [.. Enumerable.Range(0, 2).Select(_ => weights.Layers.SelectMany(l => new[] { (float[])l.Weight.Clone(), (float[])l.Bias.Clone() }).ToArray())];
        long bytes = copies[0].Sum(a => (long)a.Length * sizeof(float));
        var seconds = new double[2];
        using var start = new Barrier(2);
        var threads = Enumerable.Range(0, 2).Select(t => new Thread(() =>
        {
            float sink = 0;
            start.SignalAndWait();
            long begin = Stopwatch.GetTimestamp();
            for (int i = 0; i < passes; i++)
            {
                foreach (float[] a in copies[t])
                {
                    sink += ReadAll(a);
                }
            }

            seconds[t] = Stopwatch.GetElapsedTime(begin).TotalSeconds + (sink * 0);
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        return 2 * bytes * (double)passes / seconds.Max() / 1e9;
    }

    /// <summary>Touches every value with four independent vector accumulators (no dependency stall).</summary>
    private static float ReadAll(float[] values)
    {
        ref float r = ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(values);
        var a0 = System.Runtime.Intrinsics.Vector256<float>.Zero;
        var a1 = a0;
        var a2 = a0;
        var a3 = a0;
        int k = 0;
        for (; k <= values.Length - 32; k += 32)
        {
            a0 += System.Runtime.Intrinsics.Vector256.LoadUnsafe(ref r, (nuint)k);
            a1 += System.Runtime.Intrinsics.Vector256.LoadUnsafe(ref r, (nuint)(k + 8));
            a2 += System.Runtime.Intrinsics.Vector256.LoadUnsafe(ref r, (nuint)(k + 16));
            a3 += System.Runtime.Intrinsics.Vector256.LoadUnsafe(ref r, (nuint)(k + 24));
        }

        float sum = System.Runtime.Intrinsics.Vector256.Sum(a0 + a1 + a2 + a3);
        for (; k < values.Length; k++)
        {
            sum += values[k];
        }

        return sum;
    }

    private static async Task<(double P50, double P99, double Alloc)> ScoreLatencyAsync(ModelManager manager, float[][] data, int calls)
    {
        for (int i = 0; i < 1000; i++)
        {
            await manager.ScoreAsync(data[i % data.Length], 5);
        }

        var times = new double[calls];
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < calls; i++)
        {
            long start = Stopwatch.GetTimestamp();
            await manager.ScoreAsync(data[i % data.Length], 5);
            times[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }

        double alloc = (double)(GC.GetAllocatedBytesForCurrentThread() - allocated) / calls;
        Array.Sort(times);
        return (times[calls / 2], times[(int)(calls * 0.99)], alloc);
    }

    private static async Task<double> BatchScoresPerSecondAsync(ModelManager manager, float[][] data, int rows)
    {
        float[][] batch = [.. Enumerable.Range(0, rows).Select(i => data[i % data.Length])];
        var rates = new List<double>();
        for (int i = 0; i < 6; i++)
        {
            long start = Stopwatch.GetTimestamp();
            await manager.ScoreBatchAsync(batch, 5);
            if (i > 0)
            {
                rates.Add(rows / Stopwatch.GetElapsedTime(start).TotalSeconds);
            }
        }

        return Median(rates);
    }

    private static async Task<double> LoadMillisecondsAsync(ModelManager manager, Guid id, int dimension, int loads)
    {
        var times = new List<double>();
        for (int i = 0; i < loads; i++)
        {
            manager.ClearModelCache();
            long start = Stopwatch.GetTimestamp();
            await manager.ComputeReconstructionLossAsync(new float[dimension], id); // a cold load: record, parameters, checkpoint, hash
            times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }

        return Median(times);
    }

    /// <summary>Trains 9 more models, then runs a child process that only loads and scores.</summary>
    private static async Task<double> ScoringProcessRssMegabytesAsync(ModelManager manager, IModelStore store, float[][] data, string db, string checkpoints, Sizes s)
    {
        var fast = TrainingConfig.Default with { HiddenSizes = [.. s.Hidden], Epochs = 1 };
        for (int age = 10; age < 19; age++)
        {
            await store.AddSamplesAsync([.. data.Take(s.Rows / 4).Select(r => new NewSample(age, r))]);
            await manager.TrainAgeGroupModelAsync(age, age, fast);
        }

        string self = Environment.ProcessPath!;
        var start = new ProcessStartInfo(self) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            start.ArgumentList.Add(typeof(QuickMode).Assembly.Location);
        }

        foreach (string a in new[] { "--scoring-process", db, checkpoints, s.ScoringProcessRows.ToString(CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(a);
        }

        using Process child = Process.Start(start)!;
        string output = await child.StandardOutput.ReadToEndAsync();
        await child.WaitForExitAsync();
        if (child.ExitCode != 0)
        {
            throw new InvalidOperationException("scoring process failed: " + output);
        }

        return double.Parse(output.Trim().Split('\n')[^1], CultureInfo.InvariantCulture);
    }

    /// <summary>The child: loads every active model and scores embeddings; prints peak RSS in MB.</summary>
    public static async Task<int> ScoringProcessAsync(string db, string checkpoints, int rows)
    {
        using var store = new SqliteModelStore(db);
        var manager = new ModelManager(store, new ModelManagerOptions { CheckpointDirectory = checkpoints });
        IReadOnlyList<ModelInfo> models = await manager.ListModelsAsync();
        var rng = new Random(3);
        float[] row = [.. Enumerable.Range(0, models[0].EmbeddingDimension).Select(_ => (float)rng.NextDouble())];
        int scored = 0;
        for (int i = 0; i < rows; i++)
        {
            ModelInfo model = models[i % models.Count];
            await manager.ScoreAsync(row, model.AgeMin);
            scored++;
        }

        bool torchLoaded = AppDomain.CurrentDomain.GetAssemblies().Any(a => a.GetName().Name == "TorchSharp")
            && File.ReadAllText("/proc/self/maps").Contains("libtorch", StringComparison.Ordinal);
        if (torchLoaded || scored != rows)
        {
            Console.WriteLine("libtorch was loaded by the scoring-only process");
            return 1;
        }

        Console.WriteLine(PeakRssMegabytes().ToString(CultureInfo.InvariantCulture));
        return 0;
    }

    private static async Task<double> TrainingRssGrowthPercentAsync(ModelManager manager, int trainings)
    {
        double first = 0;
        for (int i = 0; i < trainings; i++)
        {
            await manager.TrainAgeGroupModelAsync(4, 6, TrainingConfig.Default with { HiddenSizes = [256, 128, 64], Epochs = 1 });
            GC.Collect();
            GC.WaitForPendingFinalizers();
            if (i == 0)
            {
                first = CurrentRssMegabytes();
            }
        }

        return 100 * (CurrentRssMegabytes() - first) / first;
    }

    private static double PeakRssMegabytes() => StatusKilobytes("VmHWM:") / 1024.0;

    private static double CurrentRssMegabytes() => StatusKilobytes("VmRSS:") / 1024.0;

    private static long StatusKilobytes(string key)
    {
        string line = File.ReadLines("/proc/self/status").First(l => l.StartsWith(key, StringComparison.Ordinal));
        return long.Parse(line[key.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return values[values.Count / 2];
    }

    private sealed record Sizes(int MatmulSize, int MatmulRepeats, int Rows, int Dimension, int[] Hidden, int Epochs, int ScoreCalls, int BatchRows, int Loads, int ScoringProcessRows, int RssTrainings, int PhaseBatches)
    {
        public static readonly Sizes Full = new(1024, 20, 2000, 832, [256, 128, 64], 5, 20_000, 4096, 20, 10_000, 20, 200);

        public static readonly Sizes Smoke = new(64, 2, 40, 16, [8, 4], 1, 200, 16, 2, 50, 2, 5);
    }
}
