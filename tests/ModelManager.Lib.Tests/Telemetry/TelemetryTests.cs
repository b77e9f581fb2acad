using System.Diagnostics;
using System.Diagnostics.Metrics;
using AgeGroupAnomaly.Checkpoints;
using AgeGroupAnomaly.Scoring;
using AgeGroupAnomaly.Storage;
using AgeGroupAnomaly.Training;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests.Telemetry;

/// <summary>
/// The "ModelManager.Lib" meter and activity source as an operator's collector sees them. Each test
/// gets its own <see cref="IMeterFactory"/>, so collectors see only this test's manager.
/// </summary>
[NonParallelizable] // the activity listener sees every manager in the process
public sealed class TelemetryTests
{
    private const int Dimension = 8;
    private static readonly TrainingConfig Fast = TrainingConfig.Default with { HiddenSizes = [4, 2], Epochs = 3, BatchSize = 16 };

    private ServiceProvider _metrics = null!;
    private IMeterFactory _meterFactory = null!;
    private InMemoryModelStore _store = null!;
    private InMemoryCheckpointStore _checkpoints = null!;

    [SetUp]
    public void SetUp()
    {
        _metrics = new ServiceCollection().AddMetrics().BuildServiceProvider();
        _meterFactory = _metrics.GetRequiredService<IMeterFactory>();
        _store = new InMemoryModelStore();
        _checkpoints = new InMemoryCheckpointStore();
    }

    [TearDown]
    public void TearDown() => _metrics.Dispose();

    private ModelManager Manager(int cacheCapacity = 16) =>
        new(_store, new ModelManagerOptions { DefaultTrainingConfig = Fast, CacheCapacity = cacheCapacity }, checkpoints: _checkpoints, meterFactory: _meterFactory);

    private MetricCollector<T> Collect<T>(string instrument)
        where T : struct => new(_meterFactory, "ModelManager.Lib", instrument);

    private async Task AddSamplesAsync(double age, int count, int seed) =>
        await _store.AddSamplesAsync([.. TestData.Embeddings(count, Dimension, seed).Select(r => new NewSample(age, r))]);

    [Test]
    public async Task Scores_CountScoresAndAnomaliesAndTimeEachCall_TaggedByAgeRangeOnly()
    {
        await AddSamplesAsync(4, 30, seed: 1);
        using ModelManager manager = Manager();
        Guid id = (await manager.TrainAgeGroupModelAsync(3, 5)).ModelId;
        using var scores = Collect<long>("modelmanager.scores");
        using var anomalies = Collect<long>("modelmanager.anomalies");
        using var durations = Collect<double>("modelmanager.score.duration");

        var results = new List<ScoreResult>
        {
            await manager.ScoreAsync(TestData.Embeddings(1, Dimension, 1)[0], 4),
            await manager.ScoreAsync(Enumerable.Repeat(25f, Dimension).ToArray(), 4),
        };
        results.AddRange(await manager.ScoreBatchAsync([new float[Dimension], Enumerable.Repeat(-30f, Dimension).ToArray(), new float[Dimension]], 4.5));

        scores.GetMeasurementSnapshot().Sum(m => m.Value).Should().Be(5);
        anomalies.GetMeasurementSnapshot().Sum(m => m.Value).Should().Be(results.Count(r => r.IsAnomaly)).And.BeGreaterThanOrEqualTo(2);
        durations.GetMeasurementSnapshot().Select(m => m.Tags["modelmanager.score.mode"]).Should().Equal("single", "single", "batch");
        durations.GetMeasurementSnapshot().Should().OnlyContain(m => m.Value >= 0 && m.Value < 60);
        var tags = scores.GetMeasurementSnapshot().Concat(anomalies.GetMeasurementSnapshot()).SelectMany(m => m.Tags).ToList();
        tags.Should().OnlyContain(t => t.Key == "modelmanager.age_range" && (string)t.Value! == "3-5");
        tags.Should().NotContain(t => t.Value!.ToString()!.Contains(id.ToString()), "a model id would make every model its own time series");
    }

    [Test]
    public async Task Cache_CountsHitsMissesEvictionsAndLoads()
    {
        await AddSamplesAsync(4, 30, seed: 1);
        await AddSamplesAsync(8, 30, seed: 2);
        using ModelManager manager = Manager(cacheCapacity: 1);
        await manager.TrainAgeGroupModelAsync(3, 5);
        await manager.TrainAgeGroupModelAsync(7, 9);
        using var hits = Collect<long>("modelmanager.cache.hits");
        using var misses = Collect<long>("modelmanager.cache.misses");
        using var evictions = Collect<long>("modelmanager.cache.evictions");
        using var loads = Collect<long>("modelmanager.model.loads");
        float[] probe = new float[Dimension];

        await manager.ScoreAsync(probe, 4); // miss, load
        await manager.ScoreAsync(probe, 4); // hit
        await manager.ScoreAsync(probe, 8); // miss, load, evicts [3, 5]
        await manager.ScoreAsync(probe, 4); // miss, load, evicts [7, 9]

        hits.GetMeasurementSnapshot().Sum(m => m.Value).Should().Be(1);
        misses.GetMeasurementSnapshot().Sum(m => m.Value).Should().Be(3);
        evictions.GetMeasurementSnapshot().Sum(m => m.Value).Should().Be(2);
        loads.GetMeasurementSnapshot().Sum(m => m.Value).Should().Be(3);
    }

    [Test]
    public async Task FailedLoads_AreCountedByReason()
    {
        await AddSamplesAsync(4, 30, seed: 1);
        using ModelManager manager = Manager();
        AgeGroupTrainingResult trained = await manager.TrainAgeGroupModelAsync(3, 5);
        await _checkpoints.DeleteAsync(trained.ModelId, trained.Checkpoint.RelativePath);
        using var failures = Collect<long>("modelmanager.model.load_failures");

        await FluentActions.Awaiting(() => manager.ScoreAsync(new float[Dimension], 4).AsTask()).Should().ThrowAsync<ModelLoadingException>();
        await FluentActions.Awaiting(() => manager.ComputeReconstructionLossAsync(new float[Dimension], Guid.NewGuid())).Should().ThrowAsync<ModelNotFoundException>();

        failures.GetMeasurementSnapshot().Select(m => m.Tags["error.type"]).Should().Equal("MissingFile", "UnknownModel");
    }

    [Test]
    public async Task Training_RecordsDurationAndEpochsByOutcome_AndTracesTrainingLoadingAndBatchScoring()
    {
        await AddSamplesAsync(4, 30, seed: 1);
        using ModelManager manager = Manager();
        using var durations = Collect<double>("modelmanager.training.duration");
        using var epochs = Collect<int>("modelmanager.training.epochs");
        var activities = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "ModelManager.Lib",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity => { lock (activities) { activities.Add(activity); } },
        };
        ActivitySource.AddActivityListener(listener);
        using var root = new Activity("test").Start(); // every activity of this test shares its trace id

        AgeGroupTrainingResult trained = await manager.TrainAgeGroupModelAsync(3, 5);
        await FluentActions.Awaiting(() => manager.TrainAgeGroupModelAsync(20, 30)).Should().ThrowAsync<InsufficientSamplesException>();
        await manager.ScoreBatchAsync([new float[Dimension], new float[Dimension]], 4);

        durations.GetMeasurementSnapshot().Select(m => (m.Tags["modelmanager.age_range"], m.Tags["modelmanager.training.outcome"]))
            .Should().Equal(("3-5", "completed"), ("20-30", "failed"));
        epochs.GetMeasurementSnapshot().Should().ContainSingle().Which.Value.Should().Be(trained.Training.EpochsTrained);
        Activity[] mine;
        lock (activities)
        {
            mine = [.. activities.Where(a => a.TraceId == root.TraceId)];
        }

        mine.Select(a => a.OperationName).Should().Equal("ModelManager.Train", "ModelManager.Train", "ModelManager.LoadModel", "ModelManager.ScoreBatch");
        mine[0].GetTagItem("modelmanager.age_range").Should().Be("3-5");
        mine[1].Status.Should().Be(ActivityStatusCode.Error);
        mine[2].GetTagItem("modelmanager.age_range").Should().Be("3-5");
        mine[2].Parent.Should().BeSameAs(mine[3], "the load happened inside the batch score");
        mine[3].GetTagItem("modelmanager.score.rows").Should().Be(2);
    }

    [Test]
    public async Task AddModelManager_UsesTheHostsMeterFactory()
    {
        var services = new ServiceCollection().AddMetrics().AddInMemoryModelStore().AddInMemoryCheckpointStoreForTests()
            .AddModelManager(o => o.DefaultTrainingConfig = Fast);
        await using ServiceProvider provider = services.BuildServiceProvider();
        using var scores = new MetricCollector<long>(provider.GetRequiredService<IMeterFactory>(), "ModelManager.Lib", "modelmanager.scores");
        ModelManager manager = provider.GetRequiredService<ModelManager>();
        IModelStore store = provider.GetRequiredService<IModelStore>();
        await store.AddSamplesAsync([.. TestData.Embeddings(30, Dimension, 1).Select(r => new NewSample(4, r))]);
        await manager.TrainAgeGroupModelAsync(3, 5);

        await manager.ScoreAsync(new float[Dimension], 4);

        scores.GetMeasurementSnapshot().Should().ContainSingle().Which.Value.Should().Be(1);
    }
}

internal static class TestServiceCollectionExtensions
{
    public static IServiceCollection AddInMemoryCheckpointStoreForTests(this IServiceCollection services) =>
        services.AddSingleton<ICheckpointStore>(new InMemoryCheckpointStore());
}
