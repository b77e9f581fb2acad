using AgeGroupAnomaly.Storage;
using AgeGroupAnomaly.Tests.Storage;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests.PostgreSql.Storage;

[TestFixture]
public sealed class PostgresModelStoreContractTests : ModelStoreContractTests
{
    private string _schema = null!;

    protected override IModelStore CreateStore()
    {
        _schema = PostgresTestDatabase.NewSchemaName();
        return PostgresTestDatabase.Store(_schema);
    }

    [TearDown]
    public Task DropTheSchema() => PostgresTestDatabase.DropSchemaAsync(_schema);
}
