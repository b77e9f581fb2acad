using AgeGroupAnomaly.Checkpoints;
using AgeGroupAnomaly.Management;
using AgeGroupAnomaly.Storage;
using AgeGroupAnomaly.Training;
using FluentAssertions;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests.Management;

/// <summary>The in-process training lock of stores without one of their own (in-memory, SQLite).</summary>
[TestFixture]
public sealed class TrainingLockTests
{
    private static readonly TrainingConfig s_fast = TrainingConfig.Default with { HiddenSizes = [4, 2], Epochs = 2, CpuThreads = 1 };

    [Test]
    public async Task InProcessLock_IsSharedByEveryUserOfOneStore_AndSeparatePerRangeAndStore()
    {
        var store = new InMemoryModelStore();
        ITrainingLockProvider locks = InProcessTrainingLocks.For(store);

        IAsyncDisposable? held = await locks.TryAcquireTrainingLockAsync(3, 5);

        held.Should().NotBeNull();
        InProcessTrainingLocks.For(store).Should().BeSameAs(locks);
        (await InProcessTrainingLocks.For(store).TryAcquireTrainingLockAsync(3, 5)).Should().BeNull("the same store's lock is held");
        IAsyncDisposable? otherRange = await locks.TryAcquireTrainingLockAsync(3, 6);
        otherRange.Should().NotBeNull();
        IAsyncDisposable? otherStore = await InProcessTrainingLocks.For(new InMemoryModelStore()).TryAcquireTrainingLockAsync(3, 5);
        otherStore.Should().NotBeNull();

        Task<IAsyncDisposable> waiting = locks.AcquireTrainingLockAsync(3, 5);
        waiting.IsCompleted.Should().BeFalse();
        await held!.DisposeAsync();
        await held.DisposeAsync(); // a second release is harmless
        await (await waiting).DisposeAsync();
        await otherRange!.DisposeAsync();
        await otherStore!.DisposeAsync();
        IAsyncDisposable? again = await locks.TryAcquireTrainingLockAsync(3, 5);
        again.Should().NotBeNull("every holder released it");
        await again!.DisposeAsync();
    }

    [Test]
    public async Task WaitingForTheInProcessLock_EndsWithTheToken()
    {
        ITrainingLockProvider locks = InProcessTrainingLocks.For(new InMemoryModelStore());
        IAsyncDisposable? held = await locks.TryAcquireTrainingLockAsync(3, 5);
        using var cancel = new CancellationTokenSource();

        Task<IAsyncDisposable> waiting = locks.AcquireTrainingLockAsync(3, 5, cancel.Token);
        await cancel.CancelAsync();

        await FluentActions.Awaiting(() => waiting).Should().ThrowAsync<OperationCanceledException>();
        await held!.DisposeAsync();
    }

    [Test]
    public async Task TrainAll_SkipsARangeWhoseLockIsHeld_AndTrainsTheOthers()
    {
        var store = new InMemoryModelStore();
        var random = new Random(1);
        foreach (double age in new double[] { 3, 4, 5 })
        {
            await store.AddSamplesAsync([.. Enumerable.Range(0, 12).Select(_ => new NewSample(age, [(float)random.NextDouble(), (float)age, 1f, 2f]))]);
        }

        using var manager = new ModelManager(store, new ModelManagerOptions { DefaultTrainingConfig = s_fast }, checkpoints: new InMemoryCheckpointStore());
        IAsyncDisposable? held = await InProcessTrainingLocks.For(store).TryAcquireTrainingLockAsync(4, 4);

        IReadOnlyList<AgeGroupTrainingResult> trained = await manager.TrainAllAgeGroupsAsync(new AgeGroupPlanOptions { MinSamples = 10, MaxSpanYears = 1 });
        await held!.DisposeAsync();

        trained.Select(t => (t.AgeMin, t.AgeMax)).Should().Equal((3, 3), (5, 5));
        (await store.ListModelsAsync()).Should().HaveCount(2);
    }
}
