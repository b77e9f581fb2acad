using AgeGroupAnomaly.Checkpoints;
using AgeGroupAnomaly.Storage;
using AgeGroupAnomaly.Storage.Sqlite;
using FluentAssertions;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests.Reliability;

/// <summary>Two processes (the EmbeddingsCli sample) training different ranges and scoring on one SQLite file.</summary>
[TestFixture]
[NonParallelizable]
public sealed class ProcessConcurrencyTests : ProgramTestBase
{
    [Test]
    public async Task TwoProcessesTrainingAndScoringOnOneFile_NeverSeeLockErrors_AndLeaveConsistentState()
    {
        string db = Path.Combine(Work, "shared.db");
        string checkpoints = Path.Combine(Work, "checkpoints");
        string csv = Path.Combine(Work, "data.csv");
        TestData.WriteEmbeddingCsv(csv, rows: 120, dimension: 4, ageCount: 6, seed: 2);
        RunCli("import", csv, "--db", db, "--checkpoints", checkpoints).ExitCode.Should().Be(0);

        const int Rounds = 3;
        Task<List<(int, string, string)>> Side(string ages, string output) => Task.Run(() =>
        {
            var runs = new List<(int, string, string)>();
            for (int i = 0; i < Rounds; i++)
            {
                runs.Add(RunCli("train", "--ages", ages, "--epochs", "3", "--db", db, "--checkpoints", checkpoints));
                runs.Add(RunCli("score", csv, output, "--db", db, "--checkpoints", checkpoints));
            }

            return runs;
        });

        // Score needs a model for every row's age: train both ranges once before the race.
        RunCli("train", "--ages", "3-5", "--epochs", "1", "--db", db, "--checkpoints", checkpoints).ExitCode.Should().Be(0);
        RunCli("train", "--ages", "6-8", "--epochs", "1", "--db", db, "--checkpoints", checkpoints).ExitCode.Should().Be(0);
        List<(int Exit, string Out, string Err)>[] sides = await Task.WhenAll(Side("3-5", Path.Combine(Work, "a.csv")), Side("6-8", Path.Combine(Work, "b.csv")));

        var all = sides.SelectMany(s => s).ToList();
        all.Should().OnlyContain(r => r.Exit == 0, string.Join("\n", all.Select(r => r.Err)));
        all.Should().NotContain(r => r.Err.Contains("locked", StringComparison.OrdinalIgnoreCase) || r.Out.Contains("locked", StringComparison.OrdinalIgnoreCase));

        using var store = new SqliteModelStore(db);
        var manager = new ModelManager(store, new ModelManagerOptions { CheckpointDirectory = checkpoints });
        IReadOnlyList<ModelRecord> models = await store.ListModelsAsync();
        models.Should().HaveCount(2 + (2 * Rounds));
        models.Where(m => m.IsActive).Select(m => (m.AgeMin, m.AgeMax)).Should().BeEquivalentTo(new[] { (3.0, 5.0), (6.0, 8.0) });
        foreach (ModelRecord model in models)
        {
            (await manager.ComputeReconstructionLossAsync(new float[4], model.Id)).Should().BeGreaterThanOrEqualTo(0, "every record's file exists and matches its hash");
        }

        new FileCheckpointStore(checkpoints).ListFiles().Should().BeEquivalentTo(models.Select(m => m.CheckpointPath));
        TestContext.Out.WriteLine($"two-process operations completed: {all.Count + 3}");
    }
}
