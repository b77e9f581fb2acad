using AgeGroupAnomaly.Checkpoints;
using AgeGroupAnomaly.Storage;
using AgeGroupAnomaly.Training;
using FluentAssertions;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests.Checkpoints;

public sealed class InMemoryCheckpointStoreTests
{
    private readonly InMemoryCheckpointStore _store = new();

    [Test]
    public async Task WriteThenRead_ReturnsTheSameBytes_AndASecondWriteForTheIdFails()
    {
        var id = Guid.NewGuid();
        byte[] content = [1, 2, 3, 4];

        string location = await _store.WriteAsync(id, content);

        (await _store.ReadAsync(id, location)).Should().Equal(content);
        await FluentActions.Awaiting(() => _store.WriteAsync(id, new byte[] { 9 })).Should().ThrowAsync<IOException>();
        (await _store.ReadAsync(id, location)).Should().Equal(content, "the first checkpoint stays");
    }

    [Test]
    public async Task Read_MissingOrForeignLocation_ThrowsTypedLoadingErrors()
    {
        var id = Guid.NewGuid();

        (await FluentActions.Awaiting(() => _store.ReadAsync(id, FileCheckpointStore.FileNameFor(id))).Should().ThrowAsync<ModelLoadingException>())
            .Which.Reason.Should().Be(ModelLoadFailure.MissingFile);
        (await FluentActions.Awaiting(() => _store.ReadAsync(id, "../x")).Should().ThrowAsync<ModelLoadingException>())
            .Which.Reason.Should().Be(ModelLoadFailure.InvalidPath);
    }

    [Test]
    public async Task Read_AnotherModelsLocationOrMoreThanTheBound_ThrowsInvalidPathOrTooLarge()
    {
        var local = new InMemoryCheckpointStore(); // the fixture's store is shared by its tests
        var id = Guid.NewGuid();
        var other = Guid.NewGuid();
        string location = await local.WriteAsync(id, new byte[] { 1, 2, 3, 4 });
        string otherLocation = await local.WriteAsync(other, new byte[] { 5 });

        (await FluentActions.Awaiting(() => local.ReadAsync(id, otherLocation)).Should().ThrowAsync<ModelLoadingException>())
            .Which.Reason.Should().Be(ModelLoadFailure.InvalidPath);
        (await FluentActions.Awaiting(() => local.ReadAsync(id, location, 3)).Should().ThrowAsync<ModelLoadingException>())
            .Which.Reason.Should().Be(ModelLoadFailure.TooLarge);
        (await local.ReadAsync(id, location, 4)).Should().Equal(1, 2, 3, 4);
    }

    [Test]
    public async Task DefaultBoundedRead_OfAStoreWithoutItsOwn_ReadsThenRefusesTooLarge()
    {
        var local = new InMemoryCheckpointStore();
        ICheckpointStore store = new UnboundedStore(local);
        var id = Guid.NewGuid();
        string location = await local.WriteAsync(id, new byte[] { 1, 2, 3, 4 });

        (await FluentActions.Awaiting(() => store.ReadAsync(id, location, 3)).Should().ThrowAsync<ModelLoadingException>())
            .Which.Reason.Should().Be(ModelLoadFailure.TooLarge);
        (await store.ReadAsync(id, location, 4)).Should().Equal(1, 2, 3, 4);
    }

    /// <summary>A store written before the bounded read existed: only the interface's default applies.</summary>
    private sealed class UnboundedStore(ICheckpointStore inner) : ICheckpointStore
    {
        public Task<string> WriteAsync(Guid modelId, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default) => inner.WriteAsync(modelId, content, cancellationToken);

        public Task<byte[]> ReadAsync(Guid modelId, string location, CancellationToken cancellationToken = default) => inner.ReadAsync(modelId, location, cancellationToken);

        public Task DeleteAsync(Guid modelId, string location, CancellationToken cancellationToken = default) => inner.DeleteAsync(modelId, location, cancellationToken);

        public Task<int> RemoveOrphansAsync(Func<string, bool> isReferenced, TimeSpan gracePeriod, CancellationToken cancellationToken = default) => inner.RemoveOrphansAsync(isReferenced, gracePeriod, cancellationToken);
    }

    [Test]
    public async Task Delete_OnlyRemovesTheCheckpointOfItsOwnId()
    {
        var mine = Guid.NewGuid();
        var other = Guid.NewGuid();
        string otherLocation = await _store.WriteAsync(other, new byte[] { 1 });

        await _store.DeleteAsync(mine, otherLocation);

        _store.Count.Should().Be(1);
        await _store.DeleteAsync(other, otherLocation);
        _store.Count.Should().Be(0);
    }

    [Test]
    public async Task RemoveOrphans_RemovesOnlyUnreferencedCheckpoints()
    {
        string kept = await _store.WriteAsync(Guid.NewGuid(), new byte[] { 1 });
        await _store.WriteAsync(Guid.NewGuid(), new byte[] { 2 });

        (await _store.RemoveOrphansAsync(location => location == kept, TimeSpan.Zero)).Should().Be(1);

        _store.Count.Should().Be(1);
    }

    [Test]
    public async Task AManagerOverInMemoryStores_TrainsScoresAndDeletes_WithoutACheckpointFolder()
    {
        var samples = new InMemoryModelStore();
        await samples.AddSamplesAsync([.. TestData.Embeddings(30, 8, seed: 1).Select(r => new NewSample(5, r))]);
        using var manager = new ModelManager(samples, new ModelManagerOptions(), checkpoints: _store);

        AgeGroupTrainingResult trained = await manager.TrainAgeGroupModelAsync(5, 5, new TrainingConfig { HiddenSizes = [4, 2], Epochs = 2 });
        manager.ClearModelCache();
        double loss = (await manager.ScoreAsync(new float[8], 5)).ReconstructionLoss;
        await manager.DeleteAsync(trained.ModelId);

        loss.Should().BeGreaterThan(0, "the model was loaded back from the in-memory checkpoint");
        _store.Count.Should().Be(0);
    }

    [Test]
    public void AManagerWithNeitherACheckpointFolderNorAStore_IsRefusedNamingTheSetting()
    {
        FluentActions.Invoking(() => new ModelManager(new InMemoryModelStore(), new ModelManagerOptions()))
            .Should().Throw<ArgumentException>().WithMessage("*CheckpointDirectory*ICheckpointStore*");
    }
}
