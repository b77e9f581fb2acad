using AgeGroupAnomaly.Storage;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests.Storage;

[TestFixture]
public sealed class InMemoryModelStoreContractTests : ModelStoreContractTests
{
    protected override IModelStore CreateStore() => new InMemoryModelStore();
}

[TestFixture]
public sealed class SqliteModelStoreContractTests : ModelStoreContractTests
{
    private string _directory = null!;

    protected override IModelStore CreateStore()
    {
        _directory = TestEnvironment.CreateTempDirectory();
        return new AgeGroupAnomaly.Storage.Sqlite.SqliteModelStore(Path.Combine(_directory, "models.db"));
    }

    [TearDown]
    public void DeleteTheFile() => Directory.Delete(_directory, recursive: true);
}
