using System.Collections.Immutable;
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using AgeGroupAnomaly.Training;

namespace AgeGroupAnomaly.Benchmarks.Quality;

/// <summary>
/// The detection-quality benchmark (issue 13): real data sets whose classes play the age groups,
/// the library against the classical detectors on the same splits, per-group ROC-AUC and the
/// held-out false-alarm rate at each model's own threshold, over several seeds.
/// </summary>
/// <remarks>
/// Protocol, per data set and seed: each group's rows are shuffled by (seed, group); 70 % train the
/// group's model, the other 30 % are held-out normal rows; the anomalies are rows of the other
/// groups (at most 600 in all, evenly from each other group). Every method is fitted on the
/// training rows only and scores the held-out rows; AUC and false-alarm rate are computed here, in
/// the same way for every method. The seed also seeds the library's training.
/// </remarks>
internal static class QualityMode
{
    private const double TrainFraction = 0.7;
    private const int MaxAnomalies = 600;
    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public static async Task<int> RunAsync(string[] args)
    {
        var clock = Stopwatch.StartNew();
        bool smoke = args.Contains("--smoke");
        string? outPath = Option(args, "--out");
        string dataFolder = Option(args, "--data") ?? Path.Combine(AppContext.BaseDirectory, "Quality", "data");
        int seedCount = int.Parse(Option(args, "--seeds") ?? (smoke ? "1" : "3"), CultureInfo.InvariantCulture);
        string[] dataSetNames = (Option(args, "--datasets") ?? (smoke ? "wine" : "digits,wine,breast_cancer")).Split(',');
        string? only = Option(args, "--only");
        bool runPeers = !smoke && !args.Contains("--no-peers");
        bool runLevers = !smoke && !args.Contains("--no-levers");
        int[] seeds = [.. Enumerable.Range(1, seedCount)];
        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };

        var dataSets = dataSetNames.Select(n => QualityDataSet.Load(Path.Combine(dataFolder, n + ".csv"))).ToList();
        List<(LibraryMethod Method, string Family)> library = [.. Methods(smoke).Select(m => (m, "method")), .. (runLevers ? Levers(args.Contains("--all-levers")) : []).Select(m => (m, "lever"))];
        if (only is not null)
        {
            // --only A|B: the levers whose name contains A or B (exploration runs).
            library = [.. library.Where(m => m.Family == "method" || only.Split('|').Any(o => m.Method.Name.Contains(o, StringComparison.OrdinalIgnoreCase)))];
        }

        var notes = new List<string>();
        string work = Path.Combine(Path.GetTempPath(), "mmlib-quality-" + Guid.NewGuid().ToString("N"));
        PeerRunner? peers = null;
        string? python = null;
        if (runPeers)
        {
            (python, string why) = PeerRunner.FindPython(Option(args, "--python"));
            if (python is null)
            {
                notes.Add($"Peers skipped (PCA, isolation forest, one-class SVM): {why}.");
            }
            else
            {
                notes.Add($"Peers: {why}.");
                peers = new PeerRunner(work);
            }
        }
        else if (!smoke)
        {
            notes.Add("Peers skipped: --no-peers.");
        }

        var results = new Dictionary<(string Method, string DataSet), List<GroupOutcome>>();
        var families = new Dictionary<string, string>();
        var descriptions = new Dictionary<string, string>();
        var splits = new Dictionary<(string DataSet, int Seed), IReadOnlyList<GroupSplit>>();
        try
        {
            foreach (QualityDataSet data in dataSets)
            {
                foreach (int seed in seeds)
                {
                    IReadOnlyList<GroupSplit> split = Splitter.Split(data, seed, TrainFraction, MaxAnomalies, smoke ? data.Groups[..2] : null);
                    splits[(data.Name, seed)] = split;
                    foreach (GroupSplit group in split)
                    {
                        peers?.Add(data.Name, group);
                    }
                }
            }

            peers?.Start(python!, Path.Combine(AppContext.BaseDirectory, "Quality", "peers.py"));

            foreach (QualityDataSet data in dataSets)
            {
                foreach (int seed in seeds)
                {
                    Add(results, MeanDistance.Name, data.Name, MeanDistance.Run(splits[(data.Name, seed)], seed));
                }

                families[MeanDistance.Name] = "peer";
                descriptions[MeanDistance.Name] = "mean squared difference to the training rows' mean, raw scale";
                var seen = new List<(LibraryMethod Method, int Dimension, string Name)>();
                foreach ((LibraryMethod method, string family) in library)
                {
                    families[method.Name] = family == "method" ? "library" : "lever";
                    descriptions[method.Name] = method.Description;
                    (LibraryMethod Method, int Dimension, string Name) same = seen.FirstOrDefault(s => SameConfig(s.Method, method, data));
                    if (same.Method is not null)
                    {
                        results[(method.Name, data.Name)] = results[(same.Name, data.Name)];
                        Console.Error.WriteLine($"[{clock.Elapsed:mm\\:ss}] {data.Name} {method.Name}: same configuration as '{same.Name}', results shared");
                        continue;
                    }

                    foreach (int seed in seeds)
                    {
                        Add(results, method.Name, data.Name, await method.RunAsync(splits[(data.Name, seed)], seed, cancel.Token));
                    }

                    seen.Add((method, data.Dimension, method.Name));
                    Summary s = Summarise(results[(method.Name, data.Name)]);
                    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{clock.Elapsed:mm\\:ss}] {data.Name} {method.Name}: mean AUC {s.MeanAuc:F4}, min {s.MinAuc:F4}, false alarms {s.FalseAlarm:P1}"));
                }
            }

            if (peers is not null)
            {
                foreach (((string method, string dataSet), List<GroupOutcome> outcomes) in await peers.CollectAsync(cancel.Token))
                {
                    results[(method, dataSet)] = outcomes;
                    families[method] = "peer";
                    descriptions[method] = "scikit-learn, peers.py";
                }
            }
        }
        finally
        {
            if (Directory.Exists(work))
            {
                Directory.Delete(work, recursive: true);
            }
        }

        var report = new QualityReport(dataSets, seeds, results, families, descriptions, notes, smoke);
        Console.WriteLine(report.Markdown());
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Elapsed {clock.Elapsed.TotalSeconds:F0} s."));
        foreach (string line in CompactWeightsReport(results))
        {
            Console.WriteLine(line);
        }

        if (outPath is not null)
        {
            await File.WriteAllTextAsync(outPath, JsonSerializer.Serialize(report.Json(clock.Elapsed, args), JsonOptions));
        }

        return 0;
    }

    /// <summary>
    /// How scoring with bfloat16 weights (<c>CompactScoringWeights</c>) moves the table's figures: per
    /// library row and data set the change of its mean AUC and min AUC (each averaged over the seeds, as
    /// tabled), and the largest change of any one group's AUC.
    /// </summary>
    private static IEnumerable<string> CompactWeightsReport(Dictionary<(string Method, string DataSet), List<GroupOutcome>> results)
    {
        var rows = results.Where(r => r.Value.Count > 0 && r.Value.All(o => o.CompactAuc is not null)).ToList();
        if (rows.Count == 0)
        {
            yield break;
        }

        yield return "CompactScoringWeights (bfloat16) against float32 weights, same models and rows: change of the tabled mean AUC / min AUC; largest change of one group's AUC";
        foreach (((string method, string dataSet), List<GroupOutcome> outcomes) in rows.DistinctBy(r => r.Value).OrderBy(r => r.Key.Method, StringComparer.Ordinal).ThenBy(r => r.Key.DataSet, StringComparer.Ordinal))
        {
            Summary full = Summarise(outcomes);
            Summary compact = Summarise([.. outcomes.Select(o => o with { Auc = o.CompactAuc!.Value })]);
            double largest = outcomes.Max(o => Math.Abs(o.CompactAuc!.Value - o.Auc));
            yield return string.Create(CultureInfo.InvariantCulture,
                $"  {method} / {dataSet}: mean {compact.MeanAuc - full.MeanAuc:+0.00000;-0.00000;0.00000}, min {compact.MinAuc - full.MinAuc:+0.00000;-0.00000;0.00000}; largest group {largest:F5} ({outcomes.Count} groups)");
        }
    }

    /// <summary>The rows of the main table that come from the library.</summary>
    private static IEnumerable<LibraryMethod> Methods(bool smoke)
    {
        TrainingConfig userDefault = new ModelManagerOptions().DefaultTrainingConfig;
        TrainingConfig original = OriginalServiceConfig(out string originalSource);
        if (smoke)
        {
            // A handful of epochs: the smoke proves the harness works, not how good anything is.
            userDefault = userDefault with { Epochs = 5 };
            original = original with { Epochs = 5 };
        }

        yield return new LibraryMethod("library default", "new ModelManagerOptions().DefaultTrainingConfig, nothing set", (_, _) => userDefault);
        yield return new LibraryMethod("original service config", originalSource, (_, _) => original);
    }

    /// <summary>
    /// The original service's configuration: <c>TrainingConfig.Original</c> once the library has it,
    /// until then the values spelled out (which are today's defaults).
    /// </summary>
    private static TrainingConfig OriginalServiceConfig(out string source)
    {
        if (typeof(TrainingConfig).GetProperty("Original", BindingFlags.Public | BindingFlags.Static)?.GetValue(null) is TrainingConfig preset)
        {
            source = "TrainingConfig.Original";
            return preset;
        }

        source = "hidden [256, 128, 64, 32], lr 0.001, batch 32, 100 epochs, validation 0.2, patience 10, min delta 1e-4, dropout 0.1";
        return new TrainingConfig
        {
            HiddenSizes = [256, 128, 64, 32], LearningRate = 0.001, BatchSize = 32, Epochs = 100, ValidationSplit = 0.2,
            EarlyStoppingPatience = 10, MinDelta = 1e-4, Dropout = 0.1, ThresholdPercentile = 95,
        };
    }

    /// <summary>
    /// The levers measured before the library standardised and chose its hidden sizes, kept on their
    /// old baseline (the former defaults: [256, 128, 64, 32], raw inputs) so they still mean what they
    /// meant; the benchmark-side scalings are only applied on that raw baseline, never on top of the
    /// library's own standardisation. Then the levers of the new defaults (marked "library").
    /// </summary>
    private static IEnumerable<LibraryMethod> Levers(bool all)
    {
        TrainingConfig baseline = TrainingConfig.Default with { HiddenSizes = [256, 128, 64, 32], Standardize = false };
        TrainingConfig library = TrainingConfig.Default;
        const string HalfQuarterRule = "HiddenSizes = [max(2, d/2), max(1, d/4)]";
        const string CappedRule = "HiddenSizes = [h, h/2], h = min(d, 64)";
        const string Std = "inputs standardised per feature (mean/std of the group's training rows)";
        const string Floored = "inputs standardised per feature, no scale below half the median feature std";
        const string Global = "inputs centred per feature, then divided by one global scale (RMS of the features' std)";
        var levers = new List<(bool Final, LibraryMethod Method)>
        {
            (true, new("hidden [d/2, d/4]", HalfQuarterRule, (d, _) => baseline with { HiddenSizes = HalfQuarter(d) })),
            (false, new("hidden [min(d,64), /2]", CappedRule, (d, _) => baseline with { HiddenSizes = Capped(d) })),
            (true, new("standardise", Std + ", default config", (_, _) => baseline, Scaling.PerFeature)),
            (false, new("centre + global scale", Global + ", default config", (_, _) => baseline, Scaling.CentreGlobal)),
            (false, new("dropout 0", "Dropout = 0", (_, _) => baseline with { Dropout = 0 })),
            (false, new("epochs 300, patience 30", "Epochs = 300, EarlyStoppingPatience = 30", (_, _) => baseline with { Epochs = 300, EarlyStoppingPatience = 30 })),
            (false, new("lr 0.003", "LearningRate = 0.003", (_, _) => baseline with { LearningRate = 0.003 })),
            (false, new("[d/2, d/4] + standardise", HalfQuarterRule + ", " + Std, (d, _) => baseline with { HiddenSizes = HalfQuarter(d) }, Scaling.PerFeature)),
            (false, new("[min(d,64), /2] + standardise", CappedRule + ", " + Std, (d, _) => baseline with { HiddenSizes = Capped(d) }, Scaling.PerFeature)),
            (false, new("[d/2, d/4] + centre/global", HalfQuarterRule + ", " + Global, (d, _) => baseline with { HiddenSizes = HalfQuarter(d) }, Scaling.CentreGlobal)),
            (false, new("[min(d,64), /2] + centre/global", CappedRule + ", " + Global, (d, _) => baseline with { HiddenSizes = Capped(d) }, Scaling.CentreGlobal)),
            (false, new("[min(d,64), /2] + dropout 0", CappedRule + ", Dropout = 0", (d, _) => baseline with { HiddenSizes = Capped(d), Dropout = 0 })),
            (false, new("[min(d,64), /2] + std + dropout 0", CappedRule + ", Dropout = 0, " + Std, (d, _) => baseline with { HiddenSizes = Capped(d), Dropout = 0 }, Scaling.PerFeature)),
            (false, new("[min(d,64), /2] + std + batch 8", CappedRule + ", BatchSize = 8, " + Std, (d, _) => baseline with { HiddenSizes = Capped(d), BatchSize = 8 }, Scaling.PerFeature)),
            (false, new("[min(d,64), /2] + centre/global + batch 8", CappedRule + ", BatchSize = 8, " + Global, (d, _) => baseline with { HiddenSizes = Capped(d), BatchSize = 8 }, Scaling.CentreGlobal)),
            (false, new("[min(d,64), /2] + std + lr 0.003", CappedRule + ", LearningRate = 0.003, " + Std, (d, _) => baseline with { HiddenSizes = Capped(d), LearningRate = 0.003 }, Scaling.PerFeature)),
            (false, new("[min(d,64), /2] + std + validation 0.1", CappedRule + ", ValidationSplit = 0.1, " + Std, (d, _) => baseline with { HiddenSizes = Capped(d), ValidationSplit = 0.1 }, Scaling.PerFeature)),
            (false, new("[min(d,64), /2] + centre/global + dropout 0", CappedRule + ", Dropout = 0, " + Global, (d, _) => baseline with { HiddenSizes = Capped(d), Dropout = 0 }, Scaling.CentreGlobal)),
            (false, new("[d/2, d/4] + std + dropout 0", HalfQuarterRule + ", Dropout = 0, " + Std, (d, _) => baseline with { HiddenSizes = HalfQuarter(d), Dropout = 0 }, Scaling.PerFeature)),
            (false, new("[d/2, d/4] + centre/global + dropout 0", HalfQuarterRule + ", Dropout = 0, " + Global, (d, _) => baseline with { HiddenSizes = HalfQuarter(d), Dropout = 0 }, Scaling.CentreGlobal)),
            (false, new("[d/2, 2] + centre/global", "HiddenSizes = [d/2, 2], " + Global, (d, _) => baseline with { HiddenSizes = [Math.Max(2, d / 2), 2] }, Scaling.CentreGlobal)),
            (false, new("[d/2, 2] + standardise", "HiddenSizes = [d/2, 2], " + Std, (d, _) => baseline with { HiddenSizes = [Math.Max(2, d / 2), 2] }, Scaling.PerFeature)),
            (false, new("[d/2, 4] + standardise", "HiddenSizes = [d/2, 4], " + Std, (d, _) => baseline with { HiddenSizes = [Math.Max(2, d / 2), 4] }, Scaling.PerFeature)),
            (false, new("[d/2, d/8] + standardise", "HiddenSizes = [d/2, max(1, d/8)], " + Std, (d, _) => baseline with { HiddenSizes = [Math.Max(2, d / 2), Math.Max(1, d / 8)] }, Scaling.PerFeature)),
            (false, new("[min(d,64), /4] + standardise", "HiddenSizes = [h, h/4], h = min(d, 64), " + Std, (d, _) => baseline with { HiddenSizes = [Math.Min(d, 64), Math.Max(1, Math.Min(d, 64) / 4)] }, Scaling.PerFeature)),
            (false, new("[min(d,64), /4] raw", "HiddenSizes = [h, h/4], h = min(d, 64)", (d, _) => baseline with { HiddenSizes = [Math.Min(d, 64), Math.Max(1, Math.Min(d, 64) / 4)] })),
            (true, new("[d/2, d/4] + std floored", HalfQuarterRule + ", " + Floored, (d, _) => baseline with { HiddenSizes = HalfQuarter(d) }, Scaling.PerFeatureFloored)),
            (true, new("[d/2, 2] + std floored", "HiddenSizes = [d/2, 2], " + Floored, (d, _) => baseline with { HiddenSizes = [Math.Max(2, d / 2), 2] }, Scaling.PerFeatureFloored)),
            (false, new("[min(d,64), /2] + std floored", CappedRule + ", " + Floored, (d, _) => baseline with { HiddenSizes = Capped(d) }, Scaling.PerFeatureFloored)),
            (false, new("[d/2, 2] + standardise + 300/30", "HiddenSizes = [d/2, 2], Epochs = 300, patience 30, " + Std, (d, _) => baseline with { HiddenSizes = [Math.Max(2, d / 2), 2], Epochs = 300, EarlyStoppingPatience = 30 }, Scaling.PerFeature)),
            (false, new("[d/2, 1] + standardise", "HiddenSizes = [d/2, 1], " + Std, (d, _) => baseline with { HiddenSizes = [Math.Max(2, d / 2), 1] }, Scaling.PerFeature)),
            (false, new("std floored, default hidden", Floored + ", default config", (_, _) => baseline, Scaling.PerFeatureFloored)),
            (false, new("[d/2, d/4, 2] + standardise", "HiddenSizes = [d/2, d/4, 2], " + Std, (d, _) => baseline with { HiddenSizes = [Math.Max(2, d / 2), Math.Max(2, d / 4), 2] }, Scaling.PerFeature)),
            (false, new("[d/2, 2] + standardise + dropout 0.3", "HiddenSizes = [d/2, 2], Dropout = 0.3, " + Std, (d, _) => baseline with { HiddenSizes = [Math.Max(2, d / 2), 2], Dropout = 0.3 }, Scaling.PerFeature)),
            (false, new("[d/2, d/4] + standardise + dropout 0.3", HalfQuarterRule + ", Dropout = 0.3, " + Std, (d, _) => baseline with { HiddenSizes = HalfQuarter(d), Dropout = 0.3 }, Scaling.PerFeature)),
            (false, new("[min(d,64), /2] + std + 300/30", CappedRule + ", Epochs = 300, patience 30, " + Std, (d, _) => baseline with { HiddenSizes = Capped(d), Epochs = 300, EarlyStoppingPatience = 30 }, Scaling.PerFeature)),
            (true, new("library, Standardize = false", "TrainingConfig.Default with { Standardize = false } (automatic hidden sizes, raw inputs)", (_, _) => library with { Standardize = false })),
            (true, new("library, hidden [256,128,64,32]", "TrainingConfig.Default with { HiddenSizes = [256, 128, 64, 32] } (standardised by the library)", (_, _) => library with { HiddenSizes = [256, 128, 64, 32] })),
            // Second round (the trade-offs behind the defaults: each helps one data set and costs another).
            (false, new("library, dropout 0", "TrainingConfig.Default with { Dropout = 0 }", (_, _) => library with { Dropout = 0 })),
            (false, new("library, dropout 0.3", "TrainingConfig.Default with { Dropout = 0.3 }", (_, _) => library with { Dropout = 0.3 })),
            (false, new("library, dropout 0.5", "TrainingConfig.Default with { Dropout = 0.5 }", (_, _) => library with { Dropout = 0.5 })),
            (false, new("library, scale floor 1 x median std", "TrainingConfig.Default with { Standardize = false }, inputs standardised per feature with no scale below the median feature std", (_, _) => library with { Standardize = false }, Scaling.PerFeatureFlooredAtMedian)),
            (false, new("library, scale floor 1.5 x median std", "TrainingConfig.Default with { Standardize = false }, inputs standardised per feature with no scale below 1.5 x the median feature std", (_, _) => library with { Standardize = false }, Scaling.PerFeatureFlooredAtOneAndAHalfMedians)),
            (true, new("library, hidden [d/2, 2]", "TrainingConfig.Default with { HiddenSizes = [max(2, d/2), 2] } (standardised by the library)", (d, _) => library with { HiddenSizes = [Math.Max(2, d / 2), 2] })),
        };
        return levers.Where(l => all || l.Final).Select(l => l.Method);
    }

    private static ImmutableArray<int> HalfQuarter(int d) => [Math.Max(2, d / 2), Math.Max(1, d / 4)];

    private static ImmutableArray<int> Capped(int d)
    {
        int h = Math.Min(d, 64);
        return [h, Math.Max(1, h / 2)];
    }

    private static bool SameConfig(LibraryMethod a, LibraryMethod b, QualityDataSet data) =>
        a.Scaling == b.Scaling && a.Config(data.Dimension, 100) == b.Config(data.Dimension, 100) && a.Config(data.Dimension, 1000) == b.Config(data.Dimension, 1000);

    private static void Add(Dictionary<(string, string), List<GroupOutcome>> results, string method, string dataSet, List<GroupOutcome> outcomes)
    {
        if (!results.TryGetValue((method, dataSet), out List<GroupOutcome>? list))
        {
            results[(method, dataSet)] = list = [];
        }

        list.AddRange(outcomes);
    }

    internal static Summary Summarise(IReadOnlyList<GroupOutcome> outcomes)
    {
        var perSeed = outcomes.GroupBy(o => o.Seed).Select(g => (Seed: g.Key, Mean: g.Average(o => o.Auc), Min: g.Min(o => o.Auc), FalseAlarm: g.Average(o => o.FalseAlarmRate))).ToList();
        return new Summary(
            perSeed.Average(s => s.Mean), perSeed.Min(s => s.Mean), perSeed.Average(s => s.Min), perSeed.Min(s => s.Min),
            perSeed.Average(s => s.FalseAlarm), perSeed.Max(s => s.FalseAlarm), [.. perSeed.Select(s => new SeedSummary(s.Seed, s.Mean, s.Min, s.FalseAlarm))]);
    }

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}

/// <summary>Per seed: mean AUC over the groups, min AUC over the groups, mean false-alarm rate over the groups.</summary>
internal sealed record SeedSummary(int Seed, double MeanAuc, double MinAuc, double FalseAlarm);

/// <summary>Over the seeds: the mean of each per-seed figure and its worst seed.</summary>
internal sealed record Summary(double MeanAuc, double WorstSeedMeanAuc, double MinAuc, double WorstSeedMinAuc, double FalseAlarm, double WorstSeedFalseAlarm, ImmutableArray<SeedSummary> Seeds);
