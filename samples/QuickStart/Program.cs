using System.Diagnostics;
using System.Globalization;
using AgeGroupAnomaly;
using AgeGroupAnomaly.Plots;
using AgeGroupAnomaly.Scoring;
using AgeGroupAnomaly.Storage;
using AgeGroupAnomaly.Storage.Sqlite;
using AgeGroupAnomaly.Training;
using QuickStart;

// QuickStart: synthetic drawings for ages 3-12 -> plan age groups -> train -> list -> score held-out
// normal drawings and planted anomalies. Options: --reset (start over), --work DIR (default .quickstart).
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
var total = Stopwatch.StartNew();
string work = Path.GetFullPath(Option(args, "--work") ?? ".quickstart");
if (args.Contains("--reset") && Directory.Exists(work))
{
    Directory.Delete(work, recursive: true);
    Console.WriteLine($"Reset: removed {work}");
}

Directory.CreateDirectory(work);
string database = Path.Combine(work, "drawings.db");
using var store = new SqliteModelStore(database);
var manager = new ModelManager(store, new ModelManagerOptions
{
    CheckpointDirectory = Path.Combine(work, "checkpoints"),
    Segments = [new EmbeddingSegment("visual", 0, SyntheticDrawings.VisualSize), new EmbeddingSegment("subject", SyntheticDrawings.VisualSize, SyntheticDrawings.SubjectSlots)],
});
Console.WriteLine($"Working folder: {work}");

// 1. Data: several thousand drawings for ages 3-12 (reused when the database already has them).
const int PerAge = 300;
var drawings = new SyntheticDrawings(seed: 2026);
int stored = await store.CountSamplesAsync(0, 100);
if (stored == 0)
{
    var samples = new List<NewSample>();
    for (int age = 3; age <= 12; age++)
    {
        for (int i = 0; i < PerAge; i++)
        {
            samples.Add(new NewSample(age, drawings.Typical(age + (i % 10 / 10.0)), Label: "synthetic"));
        }
    }

    await store.AddSamplesAsync(samples);
    Console.WriteLine($"Stored {samples.Count} synthetic {SyntheticDrawings.Dimension}-value embeddings for ages 3-12.");
}
else
{
    Console.WriteLine($"Reusing the {stored} embeddings already stored (run with --reset to start over).");
}

// 2. Plan the age groups and train each one.
var plan = new AgeGroupPlanOptions { MinSamples = 500, MaxSpanYears = 3 };
IReadOnlyList<AgeGroupPlan> groups = await manager.PlanAgeGroupsAsync(plan);
Console.WriteLine($"Planned {groups.Count} age groups: {string.Join(", ", groups.Select(g => $"{g.AgeMin:0}-{g.AgeMax:0} ({g.SampleCount})"))}");
var config = TrainingConfig.Default with { Epochs = 40, EarlyStoppingPatience = 6, CpuThreads = Environment.ProcessorCount };
var progress = new ConsoleProgress();
IReadOnlyList<AgeGroupTrainingResult> trained = await manager.TrainAllAgeGroupsAsync(plan, config, progress);
progress.Done();

// 3. The models, as a table.
Console.WriteLine();
Console.WriteLine("Active models");
Console.WriteLine($"{"ages",-8}{"samples",8}{"threshold",12}{"epochs",8}{"best val loss",15}{"versions",10}");
IReadOnlyList<ModelInfo> models = await manager.ListModelsAsync();
foreach (ModelInfo m in models.Where(m => m.IsActive))
{
    int versions = models.Count(v => v.AgeMin == m.AgeMin && v.AgeMax == m.AgeMax);
    Console.WriteLine($"{$"{m.AgeMin:0}-{m.AgeMax:0}",-8}{m.SampleCount,8}{m.Threshold,12:0.000000}{m.Training.History.Length,8}{m.Training.BestValidationLoss,15:0.000000}{versions,10}");
}

// 4. Score held-out normal drawings and planted anomalies; draw each trained group's report
// (training curves, calibration errors, and this held-out batch against the threshold).
Console.WriteLine();
Console.WriteLine("Held-out scoring (40 normal drawings and 40 planted anomalies per age)");
Console.WriteLine($"{"ages",-8}{"normal",8}{"false alarms",14}{"anomalies",11}{"detected",10}");
// The same generator continues its random stream, so these drawings were never trained on.
int totalNormal = 0, totalFalse = 0, totalAnomalies = 0, totalDetected = 0;
string reports = Path.Combine(work, "reports");
var reportFiles = new List<string>();
foreach (AgeGroupPlan group in groups.Where(g => g.HasEnoughSamples))
{
    var normal = new List<(float[] Embedding, double Age)>();
    var anomalies = new List<(float[] Embedding, double Age)>();
    for (int age = (int)group.AgeMin; age <= (int)group.AgeMax; age++)
    {
        for (int i = 0; i < 40; i++)
        {
            normal.Add((drawings.Typical(age + (i % 10 / 10.0)), age));
            // Half drawn like a child 6+ years older, half off-manifold noise.
            anomalies.Add((i % 2 == 0 ? drawings.Typical(age + 6 + (i % 4)) : drawings.OffManifold(), age));
        }
    }

    int falseAlarms = await CountFlaggedAsync(manager, normal);
    int detected = await CountFlaggedAsync(manager, anomalies);
    totalNormal += normal.Count;
    totalFalse += falseAlarms;
    totalAnomalies += anomalies.Count;
    totalDetected += detected;
    Console.WriteLine($"{$"{group.AgeMin:0}-{group.AgeMax:0}",-8}{normal.Count,8}{Percent(falseAlarms, normal.Count),14}{anomalies.Count,11}{Percent(detected, anomalies.Count),10}");

    ModelInfo model = trained.Single(t => t.AgeMin == group.AgeMin && t.AgeMax == group.AgeMax).Model;
    IReadOnlyList<double> heldOut = await manager.ComputeReconstructionLossesAsync([.. normal.Concat(anomalies).Select(r => (ReadOnlyMemory<float>)r.Embedding)], model.Id);
    reportFiles.AddRange(ModelPlots.WriteReport(model, Path.Combine(reports, $"ages-{group.AgeMin:0}-{group.AgeMax:0}"), heldOut).Files);
}

Console.WriteLine($"{"all",-8}{totalNormal,8}{Percent(totalFalse, totalNormal),14}{totalAnomalies,11}{Percent(totalDetected, totalAnomalies),10}");
Console.WriteLine();
Console.WriteLine($"Reports: {reportFiles.Count} PNG files in {reports} (training curves, calibration errors and held-out scores per age group)");
Console.WriteLine($"Trained {trained.Count} models; detection rate {Percent(totalDetected, totalAnomalies)}, false-alarm rate {Percent(totalFalse, totalNormal)}; done in {total.Elapsed.TotalSeconds:0.0} s.");
return 0;

static async Task<int> CountFlaggedAsync(ModelManager manager, List<(float[] Embedding, double Age)> rows)
{
    IReadOnlyList<ScoreResult> scores = await manager.ScoreBatchAsync([.. rows.Select(r => r.Embedding)], [.. rows.Select(r => r.Age)]);
    return scores.Count(s => s.IsAnomaly);
}

static string Percent(int part, int whole) => whole == 0 ? "-" : $"{100.0 * part / whole:0.0}%";

static string? Option(string[] args, string name)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

/// <summary>One line per age group, rewritten in place on a terminal as epochs finish.</summary>
internal sealed class ConsoleProgress : IProgress<AgeGroupProgress>
{
    private int _group = -1;
    private string _last = string.Empty;

    public void Report(AgeGroupProgress value)
    {
        if (value.GroupIndex != _group)
        {
            Done();
            _group = value.GroupIndex;
        }

        _last = $"[{value.GroupIndex + 1}/{value.GroupCount}] ages {value.Group.AgeMin:0}-{value.Group.AgeMax:0} ({value.Group.SampleCount} drawings): epoch {value.Epoch.Epoch,2}/{value.MaxEpochs} train {value.Epoch.TrainLoss:0.000000} val {value.Epoch.ValidationLoss:0.000000}";
        if (!Console.IsOutputRedirected)
        {
            Console.Write("\r" + _last);
        }
    }

    public void Done()
    {
        if (_last.Length > 0)
        {
            Console.WriteLine(Console.IsOutputRedirected ? _last : string.Empty);
            _last = string.Empty;
        }
    }
}
