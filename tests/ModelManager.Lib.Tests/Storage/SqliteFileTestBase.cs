using Microsoft.Data.Sqlite;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests.Storage;

/// <summary>Fixtures that work on a SQLite file of their own, in a temporary folder per test.</summary>
public abstract class SqliteFileTestBase
{
    protected string Folder { get; private set; } = null!;

    /// <summary>The test's database file (not created until a store opens it).</summary>
    protected string DatabasePath { get; private set; } = null!;

    [SetUp]
    public void CreateFolder()
    {
        Folder = TestEnvironment.CreateTempDirectory();
        DatabasePath = Path.Combine(Folder, "store.db");
    }

    [TearDown]
    public void DeleteFolder()
    {
        SqliteConnection.ClearAllPools(); // pooled connections would keep the file open
        Directory.Delete(Folder, recursive: true);
    }
}
