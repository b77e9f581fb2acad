using AgeGroupAnomaly.Compute;
using AgeGroupAnomaly.Modeling;
using AgeGroupAnomaly.Scoring;
using AgeGroupAnomaly.Storage;
using AgeGroupAnomaly.Training;
using BenchmarkDotNet.Attributes;
using TorchSharp;

namespace AgeGroupAnomaly.Benchmarks;

/// <summary>Scoring one embedding and a batch on a cached 832 → [256, 128, 64] model.</summary>
[MemoryDiagnoser]
public class ScoringBenchmarks
{
    private readonly float[] _row = new float[832];
    private float[][] _batch = [];
    private InferenceKernel _kernel = null!;
    private AutoencoderModel _model = null!;
    private ModelManager _manager = null!;
    private string _directory = null!;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        float[][] data = [.. Enumerable.Range(0, 200).Select(_ => Enumerable.Range(0, 832).Select(_ => (float)random.NextDouble()).ToArray())];
        data[0].CopyTo(_row, 0);
        _batch = [.. Enumerable.Range(0, 4096).Select(i => data[i % data.Length])];
        _directory = Path.Combine(Path.GetTempPath(), "mmlib-micro-" + Guid.NewGuid().ToString("N"));
        var store = new InMemoryModelStore();
        store.AddSamplesAsync([.. data.Select(r => new NewSample(5, r))]).GetAwaiter().GetResult();
        _manager = new ModelManager(store, new ModelManagerOptions { CheckpointDirectory = _directory });
        AgeGroupTrainingResult trained = _manager.TrainAgeGroupModelAsync(4, 6, TrainingConfig.Default with { HiddenSizes = [256, 128, 64], Epochs = 1 }).GetAwaiter().GetResult();
        _kernel = new InferenceKernel(trained.Training.Weights);
        _model = AutoencoderModel.FromWeights(trained.Training.Weights);
        _ = _manager.ScoreAsync(_row, 5).AsTask().GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _model.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark(Baseline = true)]
    public float TorchSharpForward()
    {
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        torch.Tensor x = torch.tensor(_row, [1, 832]);
        return torch.nn.functional.mse_loss(_model.forward(x), x).item<float>();
    }

    [Benchmark]
    public double KernelSingle() => _kernel.ReconstructionLoss(_row);

    [Benchmark]
    public async ValueTask<double> ManagerScore() => (await _manager.ScoreAsync(_row, 5)).ReconstructionLoss;

    [Benchmark(OperationsPerInvoke = 4096)]
    public async Task<int> ManagerScoreBatch4096() => (await _manager.ScoreBatchAsync(_batch, 5)).Count;
}

/// <summary>One training step (batch 32, 832 → [256, 128, 64]): the managed CPU engine and TorchSharp's modules + Adam.</summary>
[MemoryDiagnoser]
public class TrainingStepBenchmarks
{
    private static readonly int[] BatchRows = [.. Enumerable.Range(0, 32)];

    private AutoencoderModel _model = null!;
    private TorchTrainingEngine _torch = null!;
    private CpuTrainingEngine _managed = null!;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        float[] data = [.. Enumerable.Range(0, 32 * 832).Select(_ => (float)rng.NextDouble())];
        torch.manual_seed(1);
        _model = new AutoencoderModel(832, [256, 128, 64]);
        _managed = new CpuTrainingEngine(_model.ToWeights(), data, 32, 0.001, dropoutSeed: 1, threads: Environment.ProcessorCount);
        _torch = new TorchTrainingEngine(_model, data, 832, torch.CPU, 0.001, dropoutSeed: 1);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _torch.Dispose();
        _managed.Dispose();
        _model.Dispose();
    }

    [Benchmark(Baseline = true)]
    public double TorchSharpStep() => _torch.TrainBatch(BatchRows, 1.0);

    [Benchmark]
    public double ManagedStep() => _managed.TrainBatch(BatchRows, 1.0);
}
