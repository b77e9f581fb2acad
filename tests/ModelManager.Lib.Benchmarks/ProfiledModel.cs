using AgeGroupAnomaly.Checkpoints;
using AgeGroupAnomaly.Compute;
using AgeGroupAnomaly.Storage;
using AgeGroupAnomaly.Training;

namespace AgeGroupAnomaly.Benchmarks;

/// <summary>
/// What the manager profiles measure against: 600 random 832-value rows at age 5, an 832 → [256, 128, 64]
/// model trained on them for one epoch (range 4–6), a manager with default options, one without
/// explanations and one with bfloat16 scoring weights over the same store and checkpoints, and the model's kernels as they loaded it.
/// </summary>
internal sealed class ProfiledModel : IDisposable
{
    private ProfiledModel(float[][] data, ModelManager manager, ModelManager withoutExplanations, ModelManager compact, AgeGroupTrainingResult trained, InferenceKernel kernel, InferenceKernel compactKernel)
    {
        Compact = compact;
        CompactKernel = compactKernel;
        Data = data;
        Manager = manager;
        WithoutExplanations = withoutExplanations;
        Trained = trained;
        Kernel = kernel;
    }

    public float[][] Data { get; }

    public ModelManager Manager { get; }

    public ModelManager WithoutExplanations { get; }

    public AgeGroupTrainingResult Trained { get; }

    public InferenceKernel Kernel { get; }

    /// <summary>A manager over the same model with <see cref="ModelManagerOptions.CompactScoringWeights"/>.</summary>
    public ModelManager Compact { get; }

    /// <summary>The model's kernel as <see cref="Compact"/> loaded it (bfloat16 weights).</summary>
    public InferenceKernel CompactKernel { get; }

    public static async Task<ProfiledModel> CreateAsync()
    {
        var rng = new Random(1);
        float[][] data = [.. Enumerable.Range(0, 600).Select(_ => Enumerable.Range(0, 832).Select(_ => (float)rng.NextDouble()).ToArray())];
        var store = new InMemoryModelStore();
        await store.AddSamplesAsync([.. data.Select(r => new NewSample(5, r))]);
        var checkpoints = new InMemoryCheckpointStore();
        var manager = new ModelManager(store, new ModelManagerOptions(), checkpoints: checkpoints);
        AgeGroupTrainingResult trained = await manager.TrainAgeGroupModelAsync(4, 6, TrainingConfig.Default with { HiddenSizes = [256, 128, 64], Epochs = 1 });
        var withoutExplanations = new ModelManager(store, new ModelManagerOptions { ExplainTopFeatures = 0 }, checkpoints: checkpoints);
        var compact = new ModelManager(store, new ModelManagerOptions { CompactScoringWeights = true }, checkpoints: checkpoints);
        InferenceKernel kernel = (await manager.LoadForScoringAsync(trained.ModelId, CancellationToken.None)).Kernel;
        InferenceKernel compactKernel = (await compact.LoadForScoringAsync(trained.ModelId, CancellationToken.None)).Kernel;
        return new ProfiledModel(data, manager, withoutExplanations, compact, trained, kernel, compactKernel);
    }

    public void Dispose()
    {
        Manager.Dispose();
        WithoutExplanations.Dispose();
        Compact.Dispose();
    }
}
