using Microsoft.Data.Sqlite;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests;

/// <summary>Fixtures that run the repository's programs (samples, benchmarks) in a fresh working folder.</summary>
public abstract class ProgramTestBase
{
    protected string Work { get; private set; } = null!;

    protected static string EmbeddingsCli => TestEnvironment.ProgramPath("samples/EmbeddingsCli", "embeddings");

    [SetUp]
    public void CreateWorkingFolder() => Work = TestEnvironment.CreateTempDirectory();

    [TearDown]
    public void DeleteWorkingFolder()
    {
        SqliteConnection.ClearAllPools(); // this process may still hold the folder's databases open
        Directory.Delete(Work, recursive: true);
    }

    /// <summary>Runs the EmbeddingsCli sample in the working folder.</summary>
    protected (int ExitCode, string Out, string Err) RunCli(params string[] arguments) =>
        TestEnvironment.RunProgram(EmbeddingsCli, Work, arguments);
}
