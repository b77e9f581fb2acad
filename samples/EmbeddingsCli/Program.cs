using System.Globalization;
using AgeGroupAnomaly;
using AgeGroupAnomaly.Scoring;
using AgeGroupAnomaly.Storage;
using AgeGroupAnomaly.Storage.Sqlite;
using AgeGroupAnomaly.Training;
using EmbeddingsCli;

// embeddings <command> [options]
//   import FILE.csv                 add rows (age[,subject],v1,...) in one transaction
//   plan                            show the age groups training would use
//   train [--epochs N] [--ages A-B] train every planned group, or only the range A-B
//   list                            list the models
//   score IN.csv OUT.csv            score rows and write one result line each
// Options: --db PATH (embeddings.db), --checkpoints DIR (checkpoints), --min-samples N (50), --max-span N (4)
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
if (args.Length == 0 || args[0] is "-h" or "--help")
{
    Console.WriteLine("usage: embeddings import FILE.csv | plan | train [--epochs N] [--ages A-B] | list | score IN.csv OUT.csv  [--db PATH] [--checkpoints DIR] [--min-samples N] [--max-span N]");
    return args.Length == 0 ? 2 : 0;
}

string db = Option("--db") ?? "embeddings.db";
string checkpoints = Option("--checkpoints") ?? "checkpoints";
var plan = new AgeGroupPlanOptions
{
    MinSamples = int.Parse(Option("--min-samples") ?? "50", CultureInfo.InvariantCulture),
    MaxSpanYears = int.Parse(Option("--max-span") ?? "4", CultureInfo.InvariantCulture),
};

using var store = new SqliteModelStore(db);
var manager = new ModelManager(store, new ModelManagerOptions { CheckpointDirectory = checkpoints });
try
{
    switch (args[0])
    {
        case "import":
        {
            List<EmbeddingRow> rows = EmbeddingCsv.Read(Argument(1, "FILE.csv"));
            await store.AddSamplesAsync([.. rows.Select(r => new NewSample(r.Age, r.Embedding, r.Subject))]);
            Console.WriteLine($"imported {rows.Count} embeddings of {rows[0].Embedding.Length} values into {db}");
            return 0;
        }

        case "plan":
            foreach (AgeGroupPlan g in await manager.PlanAgeGroupsAsync(plan))
            {
                Console.WriteLine($"{g.AgeMin}-{g.AgeMax}: {g.SampleCount} samples{(g.HasEnoughSamples ? string.Empty : " (too few, skipped by train)")}");
            }

            return 0;

        case "train":
        {
            var config = TrainingConfig.Default with { Epochs = int.Parse(Option("--epochs") ?? "100", CultureInfo.InvariantCulture) };
            IReadOnlyList<AgeGroupTrainingResult> results;
            if (Option("--ages") is { } ages)
            {
                string[] bounds = ages.Split('-');
                double min = double.Parse(bounds[0], CultureInfo.InvariantCulture);
                double max = double.Parse(bounds[^1], CultureInfo.InvariantCulture);
                results = [await manager.TrainAgeGroupModelAsync(min, max, config)];
            }
            else
            {
                results = await manager.TrainAllAgeGroupsAsync(plan, config);
            }

            foreach (AgeGroupTrainingResult r in results)
            {
                Console.WriteLine($"{r.AgeMin}-{r.AgeMax}: model {r.ModelId}, {r.SampleCount} samples, {r.Training.EpochsTrained} epochs ({r.Training.StopReason}), threshold {r.Threshold:G6}");
            }

            return 0;
        }

        case "list":
            foreach (ModelInfo m in await manager.ListModelsAsync())
            {
                Console.WriteLine($"{m.Id} {m.AgeMin}-{m.AgeMax} {(m.IsActive ? "active  " : "inactive")} samples {m.SampleCount} threshold {m.Threshold:G6} created {m.CreatedUtc:u}");
            }

            return 0;

        case "score":
        {
            List<EmbeddingRow> rows = EmbeddingCsv.Read(Argument(1, "IN.csv"));
            string output = Argument(2, "OUT.csv");
            IReadOnlyList<ScoreResult> scores = await manager.ScoreBatchAsync([.. rows.Select(r => r.Embedding)], [.. rows.Select(r => r.Age)]);
            using var writer = new StreamWriter(output);
            await writer.WriteLineAsync("line,age,model_id,age_min,age_max,loss,threshold,ratio,percentile_rank,is_anomaly");
            for (int i = 0; i < rows.Count; i++)
            {
                ScoreResult s = scores[i];
                await writer.WriteLineAsync($"{rows[i].Line},{rows[i].Age},{s.ModelId},{s.AgeMin},{s.AgeMax},{s.ReconstructionLoss:G9},{s.Threshold:G9},{s.ThresholdRatio:G6},{s.PercentileRank:0.##},{(s.IsAnomaly ? 1 : 0)}");
            }

            Console.WriteLine($"scored {rows.Count} embeddings into {output}: {scores.Count(s => s.IsAnomaly)} flagged");
            return 0;
        }

        default:
            Console.Error.WriteLine($"unknown command '{args[0]}'; run with --help");
            return 2;
    }
}
catch (Exception ex) when (ex is CsvFormatException or ModelManagerException or ArgumentException or IOException or FormatException)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    return 1;
}

string? Option(string name)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

string Argument(int index, string name)
{
    string[] positional = [.. args.Where((a, i) => !a.StartsWith("--", StringComparison.Ordinal) && (i == 0 || !args[i - 1].StartsWith("--", StringComparison.Ordinal)))];
    return index < positional.Length ? positional[index] : throw new ArgumentException($"missing {name}; run with --help");
}
