using AgeGroupAnomaly.Storage;
using AgeGroupAnomaly.Storage.Sqlite;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests.Management;

[TestFixture]
public sealed class ServiceCollectionTests
{
    [Test]
    public void AddModelManager_WithADatabasePath_ResolvesOneManagerOverASqliteStore()
    {
        string directory = TestEnvironment.CreateTempDirectory();
        try
        {
            using ServiceProvider provider = new ServiceCollection()
                .AddModelManager(Path.Combine(directory, "m.db"), new ModelManagerOptions { CheckpointDirectory = Path.Combine(directory, "ck") })
                .BuildServiceProvider();

            ModelManager manager = provider.GetRequiredService<ModelManager>();

            manager.Should().BeSameAs(provider.GetRequiredService<ModelManager>());
            manager.Store.Should().BeOfType<SqliteModelStore>().And.BeSameAs(provider.GetRequiredService<IModelStore>());
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    [Test]
    public void AddModelManager_KeepsAStoreRegisteredBefore()
    {
        var store = new InMemoryModelStore();
        string directory = TestEnvironment.CreateTempDirectory();
        using ServiceProvider provider = new ServiceCollection()
            .AddSingleton<IModelStore>(store)
            .AddModelManager(new ModelManagerOptions { CheckpointDirectory = directory })
            .BuildServiceProvider();

        provider.GetRequiredService<ModelManager>().Store.Should().BeSameAs(store);
        Directory.Delete(directory, recursive: true);
    }

    [Test]
    public void AddModelManager_WithInvalidOptions_ThrowsAtRegistration()
    {
        FluentActions.Invoking(() => new ServiceCollection().AddModelManager(new ModelManagerOptions { CheckpointDirectory = "x", CacheCapacity = 0 }))
            .Should().Throw<ArgumentOutOfRangeException>().WithParameterName("CacheCapacity");
    }
}
