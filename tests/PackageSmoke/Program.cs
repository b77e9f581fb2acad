using AgeGroupAnomaly;
using AgeGroupAnomaly.Scoring;
using AgeGroupAnomaly.Storage;
using AgeGroupAnomaly.Training;
using TorchSharp;

// A consumer app built against the packed package: TorchSharp must load with no manual step, and
// the library must train a tiny model and score an embedding. With --without-libtorch (an output
// without libtorch's native files) only training and scoring run, which never load libtorch.
bool withoutLibTorch = args.Contains("--without-libtorch");
if (!withoutLibTorch)
{
    using var a = torch.ones(2, 2);
    using var product = a.matmul(a);
    float sum = product.sum().item<float>();
    if (sum != 8f)
    {
        Console.Error.WriteLine($"unexpected tensor result {sum}");
        return 1;
    }
}

var store = new InMemoryModelStore();
var random = new Random(1);
await store.AddSamplesAsync([.. Enumerable.Range(0, 40).Select(_ => new NewSample(6, [.. Enumerable.Range(0, 16).Select(_ => (float)random.NextDouble())]))]);
string checkpoints = Path.Combine(Path.GetTempPath(), "package-smoke-" + Guid.NewGuid().ToString("N"));
var manager = new ModelManager(store, new ModelManagerOptions { CheckpointDirectory = checkpoints });
AgeGroupTrainingResult trained = await manager.TrainAgeGroupModelAsync(5, 7, TrainingConfig.Default with { HiddenSizes = [8, 4], Epochs = 2 });
ScoreResult score = await manager.ScoreAsync(new float[16], 6);
Directory.Delete(checkpoints, recursive: true);
if (score.ModelId != trained.ModelId || !double.IsFinite(score.ReconstructionLoss))
{
    Console.Error.WriteLine("unexpected score");
    return 1;
}

Console.WriteLine($"package smoke: {(withoutLibTorch ? "no libtorch" : "tensor ok")}, trained {trained.ModelId} ({trained.Training.EpochsTrained} epochs), score {score.ReconstructionLoss:G4} (anomaly: {score.IsAnomaly})");
return 0;
