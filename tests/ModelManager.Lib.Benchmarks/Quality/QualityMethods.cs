using System.Collections.Immutable;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using AgeGroupAnomaly.Storage;
using AgeGroupAnomaly.Training;

namespace AgeGroupAnomaly.Benchmarks.Quality;

/// <summary>What one method measured on one group of one seed.</summary>
/// <remarks><paramref name="CompactAuc"/>: the library's AUC for the same model scored with bfloat16 weights (<c>CompactScoringWeights</c>, issue 15).</remarks>
internal sealed record GroupOutcome(int Seed, int Group, double Auc, double FalseAlarmRate, double Threshold, int Normals, int Anomalies, int? Epochs = null, string? Hidden = null, double? CompactAuc = null);

/// <summary>
/// A configuration of the library, trained and scored through the public <see cref="ModelManager"/>
/// API as a user would (in-memory store and checkpoints). <paramref name="Config"/> receives the input
/// dimension and the group's training-row count; the runner sets the seed.
/// <paramref name="Scaling"/>: how the benchmark rescales each group's rows (fitted on that group's
/// training rows) before the library sees them.
/// </summary>
internal sealed record LibraryMethod(string Name, string Description, Func<int, int, TrainingConfig> Config, Scaling Scaling = Scaling.None)
{
    public async Task<List<GroupOutcome>> RunAsync(IReadOnlyList<GroupSplit> splits, int seed, CancellationToken cancellationToken)
    {
        var store = new InMemoryModelStore();
        var checkpoints = new Checkpoints.InMemoryCheckpointStore();
        using var manager = new ModelManager(store, new ModelManagerOptions(), checkpoints: checkpoints);

        // The same models scored with bfloat16 weights (issue 15): the AUC change is reported, not tabled.
        using var compact = new ModelManager(store, new ModelManagerOptions { CompactScoringWeights = true }, checkpoints: checkpoints);
        var prepared = new List<(GroupSplit Split, float[][] Train, float[][] Eval)>();
        foreach (GroupSplit split in splits)
        {
            Standardiser? scaler = Scaling == Scaling.None ? null : new Standardiser(split.Train, Scaling);
            prepared.Add((split, scaler?.Apply(split.Train) ?? split.Train, scaler?.Apply(split.Eval) ?? split.Eval));
        }

        // Every group's training rows go into one store, the group's label + 1 playing the age.
        await store.AddSamplesAsync([.. prepared.SelectMany(p => p.Train.Select(r => new NewSample(Age(p.Split.Group), r)))], cancellationToken);
        var outcomes = new List<GroupOutcome>();
        foreach ((GroupSplit split, float[][] train, float[][] eval) in prepared)
        {
            TrainingConfig config = Config(train[0].Length, train.Length) with { Seed = seed };
            double age = Age(split.Group);
            AgeGroupTrainingResult trained = await manager.TrainAgeGroupModelAsync(age, age, config, cancellationToken: cancellationToken);
            IReadOnlyList<double> losses = await manager.ComputeReconstructionLossesAsync([.. eval.Select(r => (ReadOnlyMemory<float>)r)], trained.ModelId, cancellationToken);
            IReadOnlyList<double> compactLosses = await compact.ComputeReconstructionLossesAsync([.. eval.Select(r => (ReadOnlyMemory<float>)r)], trained.ModelId, cancellationToken);
            outcomes.Add(new GroupOutcome(
                seed, split.Group, QualityMetrics.RocAuc(losses, split.EvalIsAnomaly), QualityMetrics.FalseAlarmRate(losses, split.EvalIsAnomaly, trained.Threshold),
                trained.Threshold, split.NormalCount, split.AnomalyCount, trained.Training.EpochsTrained, string.Join('-', config.HiddenSizes),
                QualityMetrics.RocAuc(compactLosses, split.EvalIsAnomaly)));
        }

        return outcomes;
    }

    private static double Age(int group) => group + 1;
}

/// <summary>Distance to the group's mean: the mean squared difference per feature (the error of "predict the mean"), threshold by the library's percentile rule on the training rows.</summary>
internal static class MeanDistance
{
    public const string Name = "distance to group mean";

    public static List<GroupOutcome> Run(IReadOnlyList<GroupSplit> splits, int seed)
    {
        var outcomes = new List<GroupOutcome>();
        foreach (GroupSplit split in splits)
        {
            int d = split.Train[0].Length;
            double[] mean = new double[d];
            foreach (float[] row in split.Train)
            {
                for (int j = 0; j < d; j++)
                {
                    mean[j] += row[j] / (double)split.Train.Length;
                }
            }

            double Score(float[] row) => row.Select((v, j) => (v - mean[j]) * (v - mean[j])).Sum() / d;
            double threshold = QualityMetrics.Percentile(split.Train.Select(Score), 95);
            double[] scores = [.. split.Eval.Select(Score)];
            outcomes.Add(new GroupOutcome(seed, split.Group, QualityMetrics.RocAuc(scores, split.EvalIsAnomaly), QualityMetrics.FalseAlarmRate(scores, split.EvalIsAnomaly, threshold), threshold, split.NormalCount, split.AnomalyCount));
        }

        return outcomes;
    }
}

/// <summary>The scikit-learn peers (peers.py), run in a separate Python process on the same splits.</summary>
internal sealed class PeerRunner
{
    /// <summary>Column name in peers.py → the row label in the tables.</summary>
    public static readonly ImmutableArray<(string Column, string Name)> Methods =
    [
        ("pca_raw", "PCA reconstruction (90 % variance), raw"),
        ("pca_std", "PCA reconstruction (90 % variance), standardised"),
        ("iforest", "isolation forest (200 trees)"),
        ("ocsvm_raw", "one-class SVM (RBF, nu 0.05, gamma scale), raw"),
        ("ocsvm_std", "one-class SVM (RBF, nu 0.05, gamma scale), standardised"),
    ];

    private readonly string _work;
    private readonly List<(string DataSet, GroupSplit Split, string Folder)> _jobs = [];
    private Process? _process;
    private Task<string>? _output;
    private Task<string>? _errors;

    public PeerRunner(string work) => _work = work;

    /// <summary>Finds a Python that imports scikit-learn: QUALITY_PYTHON, else python3, else /usr/bin/python3 (Debian's, where python3-sklearn installs).</summary>
    public static (string? Python, string Why) FindPython(string? requested)
    {
        string[] candidates = requested is not null ? [requested] : [.. new[] { Environment.GetEnvironmentVariable("QUALITY_PYTHON"), "python3", "/usr/bin/python3" }.OfType<string>().Distinct()];
        var reasons = new List<string>();
        foreach (string candidate in candidates)
        {
            try
            {
                var start = new ProcessStartInfo(candidate) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
                start.ArgumentList.Add("-c");
                start.ArgumentList.Add("import sklearn, numpy; print(sklearn.__version__)");
                using Process process = Process.Start(start)!;
                string version = process.StandardOutput.ReadToEnd().Trim();
                string error = process.StandardError.ReadToEnd().Trim();
                process.WaitForExit();
                if (process.ExitCode == 0)
                {
                    return (candidate, $"scikit-learn {version} via {candidate}");
                }

                reasons.Add($"{candidate}: {error.Split('\n')[^1]}");
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                reasons.Add($"{candidate}: {e.Message}");
            }
        }

        return (null, "no Python with scikit-learn (install Debian's python3-sklearn): " + string.Join("; ", reasons));
    }

    public void Add(string dataSet, GroupSplit split)
    {
        string folder = Path.Combine(_work, dataSet, $"seed{split.Seed}", $"group{split.Group}");
        Directory.CreateDirectory(folder);
        WriteRows(Path.Combine(folder, "train.csv"), split.Train);
        WriteRows(Path.Combine(folder, "eval.csv"), split.Eval);
        File.WriteAllText(Path.Combine(folder, "seed"), split.Seed.ToString(CultureInfo.InvariantCulture));
        _jobs.Add((dataSet, split, folder));
    }

    /// <summary>Starts peers.py on every folder added so far (one BLAS thread: the library's trainings run meanwhile).</summary>
    public void Start(string python, string script)
    {
        var start = new ProcessStartInfo(python) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add(script);
        start.ArgumentList.Add(_work);
        foreach (string variable in new[] { "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS" })
        {
            start.Environment[variable] = "1";
        }

        _process = Process.Start(start)!;
        _output = _process.StandardOutput.ReadToEndAsync();
        _errors = _process.StandardError.ReadToEndAsync();
    }

    /// <summary>Waits for peers.py and turns its scores into outcomes (threshold: the library's percentile rule on the training rows' scores).</summary>
    public async Task<Dictionary<(string Method, string DataSet), List<GroupOutcome>>> CollectAsync(CancellationToken cancellationToken)
    {
        await _process!.WaitForExitAsync(cancellationToken);
        if (_process.ExitCode != 0)
        {
            throw new InvalidOperationException($"peers.py failed with exit code {_process.ExitCode}: {await _errors!}");
        }

        _ = await _output!;
        var results = new Dictionary<(string, string), List<GroupOutcome>>();
        foreach ((string dataSet, GroupSplit split, string folder) in _jobs)
        {
            (string[] header, double[][] train) = ReadScores(Path.Combine(folder, "peers_train.csv"));
            (_, double[][] eval) = ReadScores(Path.Combine(folder, "peers_eval.csv"));
            foreach ((string column, string name) in Methods)
            {
                int c = Array.IndexOf(header, column);
                double threshold = QualityMetrics.Percentile(train.Select(r => r[c]), 95);
                double[] scores = [.. eval.Select(r => r[c])];
                var outcome = new GroupOutcome(split.Seed, split.Group, QualityMetrics.RocAuc(scores, split.EvalIsAnomaly), QualityMetrics.FalseAlarmRate(scores, split.EvalIsAnomaly, threshold), threshold, split.NormalCount, split.AnomalyCount);
                if (!results.TryGetValue((name, dataSet), out List<GroupOutcome>? list))
                {
                    results[(name, dataSet)] = list = [];
                }

                list.Add(outcome);
            }
        }

        return results;
    }

    private static void WriteRows(string path, float[][] rows)
    {
        var text = new StringBuilder();
        foreach (float[] row in rows)
        {
            text.AppendJoin(',', row.Select(v => v.ToString("R", CultureInfo.InvariantCulture))).Append('\n');
        }

        File.WriteAllText(path, text.ToString());
    }

    private static (string[] Header, double[][] Rows) ReadScores(string path)
    {
        string[] lines = File.ReadAllLines(path);
        return (lines[0].Split(','), [.. lines.Skip(1).Where(l => l.Length > 0).Select(l => l.Split(',').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray())]);
    }
}
