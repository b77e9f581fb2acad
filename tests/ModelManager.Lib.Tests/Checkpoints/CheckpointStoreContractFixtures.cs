using AgeGroupAnomaly.Checkpoints;

namespace AgeGroupAnomaly.Tests.Checkpoints;

/// <summary>The checkpoint-store contract on the default store, one fresh folder per test.</summary>
public sealed class FileCheckpointStoreContractTests : CheckpointStoreContractTests
{
    protected override Task<ICheckpointStore> CreateStoreAsync() =>
        Task.FromResult<ICheckpointStore>(new FileCheckpointStore(TestEnvironment.CreateTempDirectory()));

    protected override Task DisposeStoreAsync(ICheckpointStore store)
    {
        Directory.Delete(((FileCheckpointStore)store).RootDirectory, recursive: true);
        return Task.CompletedTask;
    }
}

/// <summary>The checkpoint-store contract on the in-memory store.</summary>
public sealed class InMemoryCheckpointStoreContractTests : CheckpointStoreContractTests
{
    protected override Task<ICheckpointStore> CreateStoreAsync() => Task.FromResult<ICheckpointStore>(new InMemoryCheckpointStore());
}
