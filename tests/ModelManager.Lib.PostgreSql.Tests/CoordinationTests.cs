using AgeGroupAnomaly.Checkpoints;
using AgeGroupAnomaly.Storage;
using AgeGroupAnomaly.Storage.PostgreSql;
using AgeGroupAnomaly.Training;
using FluentAssertions;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests.PostgreSql;

/// <summary>Two instances (two managers, each with its own store and connections) on one schema, in one test process.</summary>
[TestFixture]
public sealed class CoordinationTests
{
    private static readonly TimeSpan s_guard = TimeSpan.FromSeconds(60);
    private static readonly TrainingConfig s_fast = TrainingConfig.Default with { HiddenSizes = [4, 2], Epochs = 3, CpuThreads = 1 };

    private string _schema = null!;
    private string _checkpoints = null!;

    [SetUp]
    public void NewSchema()
    {
        _ = PostgresTestDatabase.ConnectionString;
        _schema = PostgresTestDatabase.NewSchemaName();
        _checkpoints = Path.Combine(Path.GetTempPath(), "mmlib-tests", Guid.NewGuid().ToString("N"));
    }

    [TearDown]
    public async Task DropSchema()
    {
        await PostgresTestDatabase.DropSchemaAsync(_schema);
        if (Directory.Exists(_checkpoints))
        {
            Directory.Delete(_checkpoints, recursive: true);
        }
    }

    private ModelManager Manager(PostgresModelStore store, TimeSpan? refresh = null) =>
        new(store, new ModelManagerOptions { DefaultTrainingConfig = s_fast, ActiveModelsRefreshInterval = refresh ?? TimeSpan.FromSeconds(2) }, checkpoints: new FileCheckpointStore(_checkpoints));

    private static async Task SeedAsync(PostgresModelStore store, params double[] ages)
    {
        var random = new Random(3);
        foreach (double age in ages)
        {
            await store.AddSamplesAsync([.. Enumerable.Range(0, 20).Select(_ => new NewSample(age, [.. Enumerable.Range(0, 4).Select(i => (float)(age + i + random.NextDouble()))]))]);
        }
    }

    [Test]
    public async Task AnActivationByOneInstance_ReachesTheOthersScores_WithoutWaitingForThePeriodicRefresh()
    {
        await using PostgresModelStore storeA = PostgresTestDatabase.Store(_schema), storeB = PostgresTestDatabase.Store(_schema);
        await SeedAsync(storeA, 4);
        using ModelManager a = Manager(storeA);
        using ModelManager b = Manager(storeB, refresh: TimeSpan.FromHours(1)); // only a notification can refresh its routing in this test
        Guid first = (await a.TrainAgeGroupModelAsync(3, 5)).ModelId;
        (await ScoreUntilAsync(b, first)).Should().Be(first);

        Guid second = (await a.TrainAgeGroupModelAsync(3, 5)).ModelId;
        (await ScoreUntilAsync(b, second)).Should().Be(second, "the retraining was notified");

        await a.ActivateAsync(first); // a rollback
        var seen = System.Diagnostics.Stopwatch.StartNew();
        (await ScoreUntilAsync(b, first)).Should().Be(first, "the rollback was notified");
        TestContext.Out.WriteLine($"the other instance scored with the rolled-back model {seen.Elapsed.TotalMilliseconds:0.0} ms after the activation returned (refresh interval: 1 hour)");
    }

    [Test]
    public async Task TrainAll_SkipsTheRangeWhoseTrainingLockAnotherInstanceHolds()
    {
        await using PostgresModelStore storeA = PostgresTestDatabase.Store(_schema), storeB = PostgresTestDatabase.Store(_schema);
        await SeedAsync(storeA, 3, 4, 5);
        using ModelManager a = Manager(storeA);

        IAsyncDisposable? held = await storeB.TryAcquireTrainingLockAsync(4, 4);
        IReadOnlyList<AgeGroupTrainingResult> trained = await a.TrainAllAgeGroupsAsync(new AgeGroupPlanOptions { MinSamples = 10, MaxSpanYears = 1 });
        await held!.DisposeAsync();

        trained.Select(t => (t.AgeMin, t.AgeMax)).Should().Equal((3, 3), (5, 5));
        (await a.TrainAllAgeGroupsAsync(new AgeGroupPlanOptions { MinSamples = 10, MaxSpanYears = 1 })).Should().HaveCount(3, "nothing holds a lock now");
    }

    [Test]
    public async Task TrainingOneRange_WaitsForTheLockAnotherInstanceHolds()
    {
        await using PostgresModelStore storeA = PostgresTestDatabase.Store(_schema), storeB = PostgresTestDatabase.Store(_schema);
        await SeedAsync(storeA, 4);
        using ModelManager a = Manager(storeA);
        IAsyncDisposable? held = await storeB.TryAcquireTrainingLockAsync(3, 5);

        Task<AgeGroupTrainingResult> training = a.TrainAgeGroupModelAsync(3, 5);
        using (var cancel = new CancellationTokenSource())
        {
            // While B holds the lock, a second training of the range must wait: cancelling shows it is still waiting, storing nothing.
            Task<AgeGroupTrainingResult> cancelled = a.TrainAgeGroupModelAsync(3, 5, cancellationToken: cancel.Token);
            await cancel.CancelAsync();
            await FluentActions.Awaiting(() => cancelled).Should().ThrowAsync<OperationCanceledException>();
        }

        training.IsCompleted.Should().BeFalse("B still holds the range's lock");
        (await storeA.ListModelsAsync()).Should().BeEmpty();
        await held!.DisposeAsync();

        (await training.WaitAsync(s_guard)).AgeMin.Should().Be(3);
    }

    /// <summary>Scores until the given model answers (or the guard ends the wait) and returns the model that scored last.</summary>
    private static async Task<Guid> ScoreUntilAsync(ModelManager manager, Guid expected)
    {
        using var guard = new CancellationTokenSource(s_guard);
        Guid last;
        do
        {
            last = (await manager.ScoreAsync(new float[] { 4, 5, 6, 7 }, 4)).ModelId;
            if (last != expected)
            {
                await Task.Delay(1, CancellationToken.None);
            }
        }
        while (last != expected && !guard.IsCancellationRequested);

        return last;
    }
}
