using AgeGroupAnomaly.Checkpoints;
using FluentAssertions;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests.Checkpoints;

/// <summary>
/// What every <see cref="ICheckpointStore"/> promises, run against each store: the file and
/// in-memory stores here, the S3 store (linked into its own test project) against a real gateway.
/// Uses the public API only, so other test projects can link this file.
/// </summary>
public abstract class CheckpointStoreContractTests
{
    /// <summary>The store under test, fresh and empty for each test.</summary>
    protected ICheckpointStore Store { get; private set; } = null!;

    /// <summary>Makes an empty store no other test sees (may call <see cref="Assert.Ignore(string)"/> when its server is absent).</summary>
    protected abstract Task<ICheckpointStore> CreateStoreAsync();

    /// <summary>Removes what the test stored.</summary>
    protected virtual Task DisposeStoreAsync(ICheckpointStore store) => Task.CompletedTask;

    [SetUp]
    public async Task CreateStore() => Store = await CreateStoreAsync();

    [TearDown]
    public async Task DisposeStore()
    {
        if (Store is not null)
        {
            await DisposeStoreAsync(Store);
        }
    }

    /// <summary>Seeded bytes covering every byte value.</summary>
    protected static byte[] Bytes(int length, int seed = 1)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    [TestCase(1)]
    [TestCase(65_537)]
    [TestCase(3 * 1024 * 1024 + 5)]
    public async Task WriteAsync_ThenReadAsync_ReturnsTheSameBytesUnderTheGeneratedName(int length)
    {
        var id = Guid.NewGuid();
        byte[] content = Bytes(length);

        string location = await Store.WriteAsync(id, content);

        location.Should().Be(FileCheckpointStore.FileNameFor(id));
        (await Store.ReadAsync(id, location)).Should().Equal(content);
        (await Store.ReadAsync(id, location, length)).Should().Equal(content);
    }

    [Test]
    public async Task WriteAsync_WhenTheIdAlreadyHasACheckpoint_ThrowsIOExceptionAndKeepsTheFirst()
    {
        var id = Guid.NewGuid();
        string location = await Store.WriteAsync(id, Bytes(100, seed: 1));

        await FluentActions.Awaiting(() => Store.WriteAsync(id, Bytes(100, seed: 2))).Should().ThrowAsync<IOException>();

        (await Store.ReadAsync(id, location)).Should().Equal(Bytes(100, seed: 1));
    }

    [Test]
    public async Task WriteAsync_ConcurrentWritesForOneId_ExactlyOneSucceedsAndItsBytesAreStored()
    {
        var id = Guid.NewGuid();
        byte[][] contents = [.. Enumerable.Range(1, 4).Select(seed => Bytes(200_000, seed))];

        Task<string>[] writes = [.. contents.Select(c => Task.Run(() => Store.WriteAsync(id, c)))];
        try
        {
            await Task.WhenAll(writes);
        }
        catch (IOException)
        {
            // the losers; counted below
        }

        writes.Count(w => w.IsCompletedSuccessfully).Should().Be(1, "a checkpoint is created once and never replaced");
        writes.Where(w => !w.IsCompletedSuccessfully).Should().AllSatisfy(w => w.Exception!.InnerException.Should().BeAssignableTo<IOException>());
        int winner = Array.FindIndex(writes, w => w.IsCompletedSuccessfully);
        (await Store.ReadAsync(id, FileCheckpointStore.FileNameFor(id))).Should().Equal(contents[winner]);
    }

    [Test]
    public async Task ReadAsync_MissingCheckpoint_ThrowsMissingFileNamingTheModel()
    {
        var id = Guid.NewGuid();

        (await FluentActions.Awaiting(() => Store.ReadAsync(id, FileCheckpointStore.FileNameFor(id))).Should().ThrowAsync<ModelLoadingException>()
                .Where(e => e.ModelId == id && e.Reason == ModelLoadFailure.MissingFile))
            .WithMessage($"*{id}*");
    }

    [Test]
    public async Task ReadAndDelete_WithAnotherModelsLocation_ThrowInvalidPathAndLeaveItsCheckpoint()
    {
        var mine = Guid.NewGuid();
        var other = Guid.NewGuid();
        string otherLocation = await Store.WriteAsync(other, Bytes(10));

        await FluentActions.Awaiting(() => Store.ReadAsync(mine, otherLocation)).Should().ThrowAsync<ModelLoadingException>()
            .Where(e => e.ModelId == mine && e.Reason == ModelLoadFailure.InvalidPath);
        await Store.DeleteAsync(mine, otherLocation);

        (await Store.ReadAsync(other, otherLocation)).Should().Equal(Bytes(10), "a model never deletes another model's checkpoint");
    }

    [TestCase("../outside.safetensors")]
    [TestCase("/etc/passwd")]
    [TestCase("sub/0123456789abcdef0123456789abcdef.safetensors")]
    [TestCase("0123456789abcdef0123456789abcdef.safetensors\n")]
    [TestCase("")]
    public async Task ReadAsync_LocationThatIsNotAGeneratedName_ThrowsInvalidPath(string location)
    {
        await FluentActions.Awaiting(() => Store.ReadAsync(Guid.NewGuid(), location)).Should().ThrowAsync<ModelLoadingException>()
            .Where(e => e.Reason == ModelLoadFailure.InvalidPath);
    }

    [Test]
    public async Task ReadAsync_CheckpointLargerThanTheBound_ThrowsTooLarge_AndOneAtTheBoundIsRead()
    {
        var id = Guid.NewGuid();
        string location = await Store.WriteAsync(id, Bytes(1000));

        await FluentActions.Awaiting(() => Store.ReadAsync(id, location, 999)).Should().ThrowAsync<ModelLoadingException>()
            .Where(e => e.ModelId == id && e.Reason == ModelLoadFailure.TooLarge);
        (await Store.ReadAsync(id, location, 1000)).Should().Equal(Bytes(1000));
    }

    [Test]
    public async Task ReadAsync_CancelledToken_ThrowsOperationCanceled()
    {
        var id = Guid.NewGuid();
        string location = await Store.WriteAsync(id, Bytes(10));

        await FluentActions.Awaiting(() => Store.ReadAsync(id, location, new CancellationToken(canceled: true))).Should().ThrowAsync<OperationCanceledException>();
        await FluentActions.Awaiting(() => Store.ReadAsync(id, location, 10, new CancellationToken(canceled: true))).Should().ThrowAsync<OperationCanceledException>();
    }

    [Test]
    public async Task DeleteAsync_RemovesTheCheckpoint_AndDeletingAgainIsHarmless()
    {
        var id = Guid.NewGuid();
        string location = await Store.WriteAsync(id, Bytes(10));

        await Store.DeleteAsync(id, location);
        await Store.DeleteAsync(id, location);

        await FluentActions.Awaiting(() => Store.ReadAsync(id, location)).Should().ThrowAsync<ModelLoadingException>()
            .Where(e => e.Reason == ModelLoadFailure.MissingFile);
    }

    [Test]
    public async Task RemoveOrphansAsync_RemovesOnlyUnreferencedCheckpointsOlderThanTheGracePeriod()
    {
        var keptId = Guid.NewGuid();
        var orphanId = Guid.NewGuid();
        string kept = await Store.WriteAsync(keptId, Bytes(10, seed: 1));
        string orphan = await Store.WriteAsync(orphanId, Bytes(10, seed: 2));

        (await Store.RemoveOrphansAsync(location => location == kept, TimeSpan.FromHours(1))).Should().Be(0, "both are younger than the grace period");
        (await Store.RemoveOrphansAsync(location => location == kept, TimeSpan.Zero)).Should().Be(1);

        (await Store.ReadAsync(keptId, kept)).Should().Equal(Bytes(10, seed: 1));
        await FluentActions.Awaiting(() => Store.ReadAsync(orphanId, orphan)).Should().ThrowAsync<ModelLoadingException>()
            .Where(e => e.Reason == ModelLoadFailure.MissingFile);
    }
}
