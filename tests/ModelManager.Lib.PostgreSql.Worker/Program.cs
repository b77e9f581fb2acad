using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using AgeGroupAnomaly;
using AgeGroupAnomaly.Checkpoints;
using AgeGroupAnomaly.Checkpoints.S3;
using AgeGroupAnomaly.PostgreSqlWorker;
using AgeGroupAnomaly.Storage;
using AgeGroupAnomaly.Storage.PostgreSql;
using AgeGroupAnomaly.Training;

// One app instance of the multi-process tests: its own ModelManager over the shared PostgreSQL
// schema (connection string in MMLIB_POSTGRES) and a shared checkpoint folder.
//   load      --schema S --checkpoints DIR --name A --ops N --out DIR --own MIN,MAX --shared MIN,MAX
//   serve     --schema S --checkpoints DIR --out FILE      (8 threads score until standard input closes)
//   trainloop --schema S --checkpoints DIR --range MIN,MAX (trains again and again, "epoch" per epoch)
//   trainall  --schema S --checkpoints DIR --out FILE      (TrainAllAgeGroupsAsync, CpuThreads = 1)
//   trainpart --schema S --checkpoints DIR --out FILE --part K --of N
//                                                          (the same plan, but only every N-th range from the K-th,
//                                                           one after another: a fixed split with no coordination)
//   bench     --schema S --work DIR                        (store figures, PostgreSQL and SQLite)
Dictionary<string, string> options = Arguments.Parse(args.Skip(1));
string mode = args.Length > 0 ? args[0] : "";
try
{
    return mode switch
    {
        "load" => await Modes.LoadAsync(options),
        "serve" => await Modes.ServeAsync(options),
        "trainloop" => await Modes.TrainLoopAsync(options),
        "trainall" => await Modes.TrainAllAsync(options),
        "trainpart" => await Modes.TrainPartAsync(options),
        "bench" => await Bench.RunAsync(options),
        _ => Usage(),
    };
}
catch (Exception ex)
{
    Console.Error.WriteLine(ex);
    return 1;
}

static int Usage()
{
    Console.Error.WriteLine("usage: worker load|serve|trainloop|trainall|bench --schema S ... (see Program.cs)");
    return 2;
}

namespace AgeGroupAnomaly.PostgreSqlWorker
{
    internal static class Arguments
    {
        public static Dictionary<string, string> Parse(IEnumerable<string> args)
        {
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            string[] list = [.. args];
            for (int i = 0; i + 1 < list.Length; i += 2)
            {
                result[list[i].TrimStart('-')] = list[i + 1];
            }

            return result;
        }

        public static (double Min, double Max) Range(string text)
        {
            string[] parts = text.Split(',');
            return (double.Parse(parts[0], CultureInfo.InvariantCulture), double.Parse(parts[1], CultureInfo.InvariantCulture));
        }
    }

    /// <summary>What every instance of the tests shares: the store, the checkpoint folder, a small fast model.</summary>
    internal static class Instance
    {
        public static TrainingConfig Training { get; } = TrainingConfig.Default with { HiddenSizes = [8, 4], Epochs = 12, EarlyStoppingPatience = 100, CpuThreads = 1 };

        public static PostgresModelStore Store(string schema) =>
            new(new PostgresModelStoreOptions { ConnectionString = Environment.GetEnvironmentVariable("MMLIB_POSTGRES") ?? throw new InvalidOperationException("MMLIB_POSTGRES is not set"), Schema = schema });

        public static ModelManager Manager(IModelStore store, string checkpoints, TrainingConfig? training = null) =>
            new(store, new ModelManagerOptions { DefaultTrainingConfig = training ?? Training, ExplainTopFeatures = 0 }, checkpoints: Checkpoints(checkpoints));

        /// <summary>"s3:PREFIX" for the bucket in MM_S3_* (as .ci/ceph exports them), else a shared folder.</summary>
        public static ICheckpointStore Checkpoints(string location) =>
            location.StartsWith("s3:", StringComparison.Ordinal)
                ? new S3CheckpointStore(new S3CheckpointStoreOptions
                {
                    ServiceUrl = new Uri(Environment.GetEnvironmentVariable("MM_S3_ENDPOINT") ?? throw new InvalidOperationException("MM_S3_ENDPOINT is not set")),
                    BucketName = Environment.GetEnvironmentVariable("MM_S3_BUCKET") ?? throw new InvalidOperationException("MM_S3_BUCKET is not set"),
                    AccessKey = Environment.GetEnvironmentVariable("MM_S3_ACCESS_KEY"),
                    SecretKey = Environment.GetEnvironmentVariable("MM_S3_SECRET_KEY"),
                    KeyPrefix = location[3..],
                })
                : new FileCheckpointStore(location);

        public static float[] Embedding(Random random, int dimension, double age)
        {
            var values = new float[dimension];
            for (int i = 0; i < dimension; i++)
            {
                values[i] = (float)((age * 0.1) + (Math.Sin(i + age) * 0.5) + ((random.NextDouble() - 0.5) * 0.2));
            }

            return values;
        }
    }

    /// <summary>Eight threads scoring embeddings of the given ages, counting the models they used.</summary>
    internal sealed class Scorers : IDisposable
    {
        private readonly ConcurrentDictionary<Guid, long> _used = new();
        private readonly List<Thread> _threads = [];
        private readonly ConcurrentQueue<string> _errors = new();
        private volatile bool _stop;
        private long _scores;
        private long _noModel;

        public Scorers(ModelManager manager, int dimension, double[] ages, int threads = 8)
        {
            for (int t = 0; t < threads; t++)
            {
                int seed = t;
                var thread = new Thread(() => Score(manager, dimension, ages, seed)) { IsBackground = true };
                _threads.Add(thread);
                thread.Start();
            }
        }

        public long Scores => Interlocked.Read(ref _scores);

        public long NoModel => Interlocked.Read(ref _noModel);

        public IReadOnlyDictionary<Guid, long> Used => _used;

        public IReadOnlyCollection<string> Errors => _errors;

        public void Dispose()
        {
            _stop = true;
            _threads.ForEach(t => t.Join());
        }

        private void Score(ModelManager manager, int dimension, double[] ages, int seed)
        {
            var random = new Random(seed);
            while (!_stop)
            {
                double age = ages[random.Next(ages.Length)];
                float[] embedding = Instance.Embedding(random, dimension, age);
                try
                {
                    var pending = manager.ScoreAsync(embedding, age);
                    var result = pending.IsCompleted ? pending.Result : pending.AsTask().GetAwaiter().GetResult();
                    _used.AddOrUpdate(result.ModelId, 1, (_, n) => n + 1);
                    if (Interlocked.Increment(ref _scores) % 16 == 0)
                    {
                        Thread.Sleep(1); // busy, but leaves the other process and the trainings some of the two cores
                    }
                }
                catch (NoModelForAgeException)
                {
                    Interlocked.Increment(ref _noModel);
                    Thread.Sleep(1);
                }
#pragma warning disable CA1031 // every other failure is reported to the test, which fails on it
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    _errors.Enqueue(ex.GetType().Name + ": " + ex.Message.ReplaceLineEndings(" "));
                }
            }
        }

        public void Write(TextWriter output)
        {
            output.WriteLine($"scores {Scores}");
            output.WriteLine($"nomodel {NoModel}");
            foreach ((Guid id, long count) in _used)
            {
                output.WriteLine($"used {id} {count}");
            }

            foreach (string error in _errors)
            {
                output.WriteLine($"error {error}");
            }
        }
    }

    /// <summary>Timestamps (a clock shared by the processes of one machine) of a training's first and last epoch, both taken while it holds its range's lock.</summary>
    internal sealed class EpochSpan : IProgress<EpochRecord>
    {
        public long First { get; private set; }

        public long Last { get; private set; }

        public void Report(EpochRecord value)
        {
            long now = Stopwatch.GetTimestamp();
            if (First == 0)
            {
                First = now;
            }

            Last = now;
        }
    }

    internal static class Modes
    {
        public static async Task<int> LoadAsync(Dictionary<string, string> o)
        {
            string name = o["name"];
            int ops = int.Parse(o["ops"], CultureInfo.InvariantCulture);
            (double Min, double Max) own = Arguments.Range(o["own"]);
            (double Min, double Max) shared = Arguments.Range(o["shared"]);
            string outDir = o["out"];
            await using PostgresModelStore store = Instance.Store(o["schema"]);
            using ModelManager manager = Instance.Manager(store, o["checkpoints"]);
            int dimension = (await store.GetSamplesAsync(shared.Min, shared.Max))[0].Embedding.Length;
            var random = new Random(name.GetHashCode(StringComparison.Ordinal));
            using var samplesLog = new StreamWriter(Path.Combine(outDir, $"samples-{name}.txt")) { AutoFlush = true };
            using var trainingsLog = new StreamWriter(Path.Combine(outDir, $"trainings-{name}.txt")) { AutoFlush = true };
            var counts = new Dictionary<string, int>(StringComparer.Ordinal);
            void Count(string op) => counts[op] = counts.GetValueOrDefault(op) + 1;

            using (var scorers = new Scorers(manager, dimension, [shared.Min, (shared.Min + shared.Max) / 2, own.Min, own.Max]))
            {
                for (int i = 0; i < ops; i++)
                {
                    switch (random.Next(4))
                    {
                        case 0:
                        case 1:
                            (double Min, double Max) range = random.Next(2) == 0 ? shared : own;
                            var span = new EpochSpan();
                            var trained = await manager.TrainAgeGroupModelAsync(range.Min, range.Max, progress: span);
                            trainingsLog.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{range.Min},{range.Max} {trained.ModelId} {span.First} {span.Last}"));
                            Count(range == shared ? "train-shared" : "train-own");
                            break;
                        case 2:
                            (double Min, double Max) back = random.Next(2) == 0 ? shared : own;
                            ModelInfo[] older = [.. (await manager.ListModelsAsync()).Where(m => m.AgeMin == back.Min && m.AgeMax == back.Max && !m.IsActive)];
                            if (older.Length > 0)
                            {
                                await manager.ActivateAsync(older[random.Next(older.Length)].Id);
                                Count("rollback");
                            }

                            break;
                        default:
                            NewSample[] batch = [.. Enumerable.Range(0, 5).Select(_ =>
                            {
                                double age = random.Next(2) == 0 ? shared.Min : own.Max;
                                return new NewSample(age, Instance.Embedding(random, dimension, age), Subject: name);
                            })];
                            IReadOnlyList<long> ids = await store.AddSamplesAsync(batch);
                            for (int s = 0; s < ids.Count; s++)
                            {
                                samplesLog.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{ids[s]} {batch[s].AgeYears:R} {string.Join(',', batch[s].Embedding.Select(v => v.ToString("R", CultureInfo.InvariantCulture)))}"));
                            }

                            Count("samples");
                            break;
                    }
                }

                scorers.Dispose();
                using var result = new StreamWriter(Path.Combine(outDir, $"result-{name}.txt"));
                foreach ((string op, int count) in counts)
                {
                    result.WriteLine($"op {op} {count}");
                }

                scorers.Write(result);
            }

            return 0;
        }

        public static async Task<int> ServeAsync(Dictionary<string, string> o)
        {
            await using PostgresModelStore store = Instance.Store(o["schema"]);
            using ModelManager manager = Instance.Manager(store, o["checkpoints"]);
            double[] ages = [.. o["ages"].Split(',').Select(a => double.Parse(a, CultureInfo.InvariantCulture))];
            int dimension = int.Parse(o["dimension"], CultureInfo.InvariantCulture);
            using var scorers = new Scorers(manager, dimension, ages);

            // The test asks over standard input ("ping" → the counts now) and closes it to stop.
            while (await Console.In.ReadLineAsync() is { } line)
            {
                if (line == "ping")
                {
                    Console.Out.WriteLine($"scored {scorers.Scores} errors {scorers.Errors.Count}");
                    Console.Out.Flush();
                }
            }

            scorers.Dispose();
            using var result = new StreamWriter(o["out"]);
            scorers.Write(result);
            return 0;
        }

        public static async Task<int> TrainLoopAsync(Dictionary<string, string> o)
        {
            (double min, double max) = Arguments.Range(o["range"]);
            await using PostgresModelStore store = Instance.Store(o["schema"]);
            using ModelManager manager = Instance.Manager(store, o["checkpoints"]);
            var epochs = new EpochPrinter();
            while (true)
            {
                var trained = await manager.TrainAgeGroupModelAsync(min, max, progress: epochs);
                Console.Out.WriteLine($"recorded {trained.ModelId}");
                Console.Out.Flush();
            }
        }

        public static Task<int> TrainAllAsync(Dictionary<string, string> o) =>
            TimedTrainingsAsync(o, (manager, plan) => manager.TrainAllAgeGroupsAsync(plan));

        /// <summary>The control for <see cref="TrainAllAsync"/>: a split fixed in advance, so the two differ only in the coordination.</summary>
        public static Task<int> TrainPartAsync(Dictionary<string, string> o)
        {
            int part = int.Parse(o["part"], CultureInfo.InvariantCulture);
            int of = int.Parse(o["of"], CultureInfo.InvariantCulture);
            return TimedTrainingsAsync(o, async (manager, plan) =>
            {
                var trained = new List<AgeGroupTrainingResult>();
                IReadOnlyList<AgeGroupPlan> groups = await manager.PlanAgeGroupsAsync(plan);
                for (int i = part; i < groups.Count; i += of)
                {
                    trained.Add(await manager.TrainAgeGroupModelAsync(groups[i].AgeMin, groups[i].AgeMax));
                }

                return trained;
            });
        }

        private static async Task<int> TimedTrainingsAsync(Dictionary<string, string> o, Func<ModelManager, AgeGroupPlanOptions, Task<IReadOnlyList<AgeGroupTrainingResult>>> train)
        {
            await using PostgresModelStore store = Instance.Store(o["schema"]);
            // MMLIB_PG_TRAINALL_EPOCHS makes each training heavier, so the measurement is dominated by training rather than by fixed costs.
            int epochs = int.TryParse(Environment.GetEnvironmentVariable("MMLIB_PG_TRAINALL_EPOCHS"), out int e) ? e : 30;
            TrainingConfig config = Instance.Training with { HiddenSizes = [32, 16], Epochs = epochs, EarlyStoppingPatience = epochs };
            using ModelManager manager = Instance.Manager(store, o["checkpoints"], config);
            var plan = new AgeGroupPlanOptions { MinSamples = 50, MaxSpanYears = 1 };

            // Started, connected and warm; the test says "go" to every instance at once (as a deployment would start them).
            await manager.PlanAgeGroupsAsync(plan);
            Console.Out.WriteLine("ready");
            Console.Out.Flush();
            _ = await Console.In.ReadLineAsync();
            var watch = Stopwatch.StartNew();
            TimeSpan cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            IReadOnlyList<AgeGroupTrainingResult> trained = await train(manager, plan);
            using var result = new StreamWriter(o["out"]);
            result.WriteLine(string.Create(CultureInfo.InvariantCulture, $"elapsed {watch.Elapsed.TotalMilliseconds:0}"));
            result.WriteLine(string.Create(CultureInfo.InvariantCulture, $"cpu {(Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalMilliseconds:0}"));
            foreach (var t in trained)
            {
                result.WriteLine(string.Create(CultureInfo.InvariantCulture, $"trained {t.AgeMin},{t.AgeMax} {t.ModelId}"));
            }

            return 0;
        }
    }

    internal sealed class EpochPrinter : IProgress<EpochRecord>
    {
        public void Report(EpochRecord value)
        {
            Console.Out.WriteLine($"epoch {value.Epoch}");
            Console.Out.Flush();
        }
    }
}
