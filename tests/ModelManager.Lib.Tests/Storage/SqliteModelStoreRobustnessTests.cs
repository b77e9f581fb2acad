using AgeGroupAnomaly.Storage;
using AgeGroupAnomaly.Storage.Sqlite;
using FluentAssertions;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests.Storage;

/// <summary>
/// Damaged rows affect only themselves; disposal is final (and safe while a call holds a
/// connection); a database path that cannot be opened is named.
/// </summary>
[TestFixture]
public sealed class SqliteModelStoreRobustnessTests : SqliteFileTestBase
{
    /// <summary>A damage, the SQL that makes it (on the record with id @id), and whether the damaged record can still be asked for by its id.</summary>
    public sealed record Damage(string Name, string Sql, bool StillFoundById, string Problem)
    {
        public override string ToString() => Name;
    }

    public static IEnumerable<Damage> Damages() =>
    [
        new("id that is not a GUID", "UPDATE models SET id = 'not-a-guid' WHERE id = @id", false, "*id 'not-a-guid' is not a GUID*"),
        new("id in upper case", "UPDATE models SET id = upper(id) WHERE id = @id", false, "*is not a GUID in the form*"),
        new("id with a trailing newline", "UPDATE models SET id = id || char(10) WHERE id = @id", false, "*\\u000a*"),
        new("id as a BLOB", "UPDATE models SET id = x'00' WHERE id = @id", false, "*id is a 1-byte BLOB, not text*"),
        new("age_min as text", "UPDATE models SET age_min = 'three' WHERE id = @id", true, "*age_min is the text 'three', not a number*"),
        new("threshold as a BLOB", "UPDATE models SET threshold = x'0102' WHERE id = @id", true, "*threshold is a 2-byte BLOB*"),
        new("threshold NaN-like text", "UPDATE models SET threshold = 'NaN' WHERE id = @id", true, "*threshold*"),
        new("negative age", "UPDATE models SET age_min = -5 WHERE id = @id", true, "*ageMin is -5*"),
        new("created_ticks beyond any date", "UPDATE models SET created_ticks = 9223372036854775807 WHERE id = @id", true, "*created_ticks 9223372036854775807 is not a time*"),
        new("is_active 7", "UPDATE models SET is_active = 7 WHERE id = @id", true, "*is_active is 7*"),
        new("embedding_dimension too large for an int", "UPDATE models SET embedding_dimension = 9999999999 WHERE id = @id", true, "*"),
        new("checkpoint_path as NULL-like empty text", "UPDATE models SET checkpoint_path = '' WHERE id = @id", true, "*checkpoint path*"),
    ];

    [TestCaseSource(nameof(Damages))]
    public async Task DamagedRecord_IsSkippedInListsWithAWarning_AndTheOthersKeepWorking(Damage damage)
    {
        var logger = new ListLogger();
        using var store = new SqliteModelStore(DatabasePath, logger);
        ModelRecord good = ModelStoreContractTests.Model(3, 5) with { IsActive = true };
        ModelRecord bad = ModelStoreContractTests.Model(3, 5) with { IsActive = false };
        ModelRecord other = ModelStoreContractTests.Model(6, 8) with { IsActive = true };
        await store.AddModelAsync(good);
        await store.AddModelAsync(bad);
        await store.AddModelAsync(other);
        long rowId = Execute("SELECT rowid FROM models WHERE id = $id", bad.Id);
        Execute("PRAGMA ignore_check_constraints = ON; " + damage.Sql.Replace("@id", "$id", StringComparison.Ordinal), bad.Id);

        (await store.ListModelsAsync()).Select(m => m.Id).Should().Equal(good.Id, other.Id);
        (await store.FindActiveModelsAsync(4)).Select(m => m.Id).Should().Equal(good.Id);
        (await store.GetModelAsync(good.Id)).Should().Be(good);
        logger.Warnings.Should().Contain(w => w.Contains($"row {rowId}", StringComparison.Ordinal)).And.OnlyContain(w => w.Contains($"row {rowId}", StringComparison.Ordinal));

        if (damage.StillFoundById)
        {
            (await FluentActions.Awaiting(() => store.GetModelAsync(bad.Id)).Should().ThrowAsync<DamagedRecordException>().WithMessage(damage.Problem))
                .Which.RowId.Should().Be(rowId);
        }
        else
        {
            (await store.GetModelAsync(bad.Id)).Should().BeNull();
            logger.Warnings.Should().Contain(w => new WildcardPattern(damage.Problem).Matches(w));
        }
    }

    [Test]
    public async Task ModelManager_WithADamagedIdAndADamagedParametersJson_ListsAndScoresTheRest()
    {
        using var store = new SqliteModelStore(DatabasePath);
        var checkpoints = new AgeGroupAnomaly.Checkpoints.InMemoryCheckpointStore();
        using var manager = new ModelManager(store, new ModelManagerOptions(), checkpoints: checkpoints);
        await store.AddSamplesAsync([.. TestData.Embeddings(30, 8).Select(e => new NewSample(4, e))]);
        await store.AddSamplesAsync([.. TestData.Embeddings(30, 8, seed: 2).Select(e => new NewSample(8, e))]);
        var fast = AgeGroupAnomaly.Training.TrainingConfig.Default with { HiddenSizes = [4, 2], Epochs = 2, BatchSize = 16 };
        AgeGroupTrainingResult young = await manager.TrainAgeGroupModelAsync(3, 5, fast);
        AgeGroupTrainingResult old = await manager.TrainAgeGroupModelAsync(7, 9, fast);
        AgeGroupTrainingResult oldV2 = await manager.TrainAgeGroupModelAsync(7, 9, fast with { Seed = 2 });
        Execute("UPDATE models SET id = 'broken' WHERE id = $id", young.ModelId);
        Execute("UPDATE models SET parameters = '{ not json' WHERE id = $id", old.ModelId);
        manager.ClearModelCache();

        (await manager.ListModelsAsync()).Select(m => m.Id).Should().Equal(oldV2.ModelId);
        (await manager.ScoreAsync(TestData.Embeddings(1, 8, seed: 2)[0], 8)).ModelId.Should().Be(oldV2.ModelId);
        (await FluentActions.Awaiting(() => manager.GetModelInfoAsync(old.ModelId)).Should().ThrowAsync<ModelLoadingException>())
            .Which.Reason.Should().Be(ModelLoadFailure.DamagedRecord);
        await FluentActions.Awaiting(() => manager.ScoreAsync(TestData.Embeddings(1, 8)[0], 4).AsTask()).Should().ThrowAsync<NoModelForAgeException>();
    }

    [Test]
    public async Task RemoveOrphanedCheckpoints_KeepsTheCheckpointOfADamagedRecord()
    {
        using var store = new SqliteModelStore(DatabasePath);
        var checkpoints = new AgeGroupAnomaly.Checkpoints.InMemoryCheckpointStore();
        using var manager = new ModelManager(store, new ModelManagerOptions(), checkpoints: checkpoints);
        await store.AddSamplesAsync([.. TestData.Embeddings(30, 8).Select(e => new NewSample(4, e))]);
        AgeGroupTrainingResult model = await manager.TrainAgeGroupModelAsync(3, 5, AgeGroupAnomaly.Training.TrainingConfig.Default with { HiddenSizes = [4, 2], Epochs = 2 });
        Execute("UPDATE models SET id = 'broken' WHERE id = $id", model.ModelId);

        int removed = await manager.RemoveOrphanedCheckpointsAsync(TimeSpan.Zero);

        removed.Should().Be(0, "the damaged record still names its checkpoint: repairing the id must find it");
        checkpoints.Count.Should().Be(1);
        (await store.ListCheckpointLocationsAsync()).Should().Equal(model.Checkpoint.RelativePath);
    }

    public static IEnumerable<TestCaseData> EveryCall()
    {
        ModelRecord model = ModelStoreContractTests.Model(3, 5);
        (string, Func<SqliteModelStore, Task>)[] calls =
        [
            ("AddSampleAsync", s => s.AddSampleAsync(new NewSample(4, [1f]))),
            ("AddSamplesAsync", s => s.AddSamplesAsync([new NewSample(4, [1f])])),
            ("CountSamplesAsync", s => s.CountSamplesAsync(0, 10)),
            ("GetSamplesAsync", s => s.GetSamplesAsync(0, 10)),
            ("GetSampleAsync", s => s.GetSampleAsync(1)),
            ("GetSampleAgesAsync", s => s.GetSampleAgesAsync()),
            ("AddModelAsync", s => s.AddModelAsync(model)),
            ("GetModelAsync", s => s.GetModelAsync(model.Id)),
            ("ListModelsAsync", s => s.ListModelsAsync()),
            ("FindActiveModelsAsync", s => s.FindActiveModelsAsync(4)),
            ("ActivateModelAsync", s => s.ActivateModelAsync(model.Id)),
            ("DeactivateModelAsync", s => s.DeactivateModelAsync(model.Id)),
            ("DeleteModelAsync", s => s.DeleteModelAsync(model.Id)),
        ];
        foreach (bool memory in new[] { true, false })
        {
            foreach ((string name, Func<SqliteModelStore, Task> call) in calls)
            {
                yield return new TestCaseData(memory, call).SetArgDisplayNames(memory ? "in memory" : "file", name);
            }
        }
    }

    [TestCaseSource(nameof(EveryCall))]
    public async Task EveryCall_AfterDispose_ThrowsObjectDisposed(bool memory, Func<SqliteModelStore, Task> call)
    {
        var store = new SqliteModelStore(memory ? "Data Source=:memory:" : DatabasePath);
        await store.ListModelsAsync();
        store.Dispose();
        store.Dispose(); // twice is harmless

        await FluentActions.Awaiting(() => call(store)).Should().ThrowAsync<ObjectDisposedException>();
    }

    [TestCase(true)]
    [TestCase(false)]
    public async Task Dispose_WhileACallHoldsAConnection_LetsItFinishThenReleases(bool memory)
    {
        var store = new SqliteModelStore(memory ? "Data Source=:memory:" : DatabasePath);
        await store.AddModelAsync(ModelStoreContractTests.Model(3, 5));
        SqliteConnection held = await store.OpenConnectionAsync();

        store.Dispose();

        store.Released.Should().BeFalse("a call is still using the store");
        using (SqliteCommand command = held.CreateCommand())
        {
            command.CommandText = "SELECT COUNT(*) FROM models";
            (await command.ExecuteScalarAsync()).Should().Be(1L, "the call under way still sees the database");
        }

        await FluentActions.Awaiting(() => store.ListModelsAsync()).Should().ThrowAsync<ObjectDisposedException>();
        held.Dispose();
        store.Released.Should().BeTrue("the last call to finish releases the connections");
        await FluentActions.Awaiting(() => store.ListModelsAsync()).Should().ThrowAsync<ObjectDisposedException>();
    }

    [Test]
    public void Constructor_WithADirectoryAsTheDatabasePath_ThrowsNamingThePath()
    {
        FluentActions.Invoking(() => new SqliteModelStore(Folder))
            .Should().Throw<ArgumentException>().WithMessage($"*'{Folder}' is a directory*");
        FluentActions.Invoking(() => new SqliteModelStore($"Data Source={Folder}"))
            .Should().Throw<ArgumentException>().WithMessage($"*'{Folder}' is a directory*");
    }

    [Test]
    public async Task Open_WhenThePathBecameADirectory_ThrowsNamingThePath()
    {
        using var store = new SqliteModelStore(DatabasePath);
        Directory.CreateDirectory(DatabasePath);

        (await FluentActions.Awaiting(() => store.ListModelsAsync()).Should().ThrowAsync<ModelManagerException>()
            .WithMessage($"The SQLite database '{DatabasePath}' cannot be opened: it is a directory*")).Which.InnerException.Should().BeOfType<SqliteException>();
    }

    private long Execute(string sql, Guid id)
    {
        using var connection = new SqliteConnection($"Data Source={DatabasePath}");
        connection.Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$id", id.ToString("D"));
        object? result = command.ExecuteScalar();
        return result is long value ? value : 0;
    }

    private sealed class WildcardPattern(string pattern)
    {
        public bool Matches(string text) =>
            System.Text.RegularExpressions.Regex.IsMatch(text, "^" + System.Text.RegularExpressions.Regex.Escape(pattern).Replace("\\*", ".*", StringComparison.Ordinal) + "$", System.Text.RegularExpressions.RegexOptions.Singleline);
    }

    private sealed class ListLogger : ILogger<SqliteModelStore>
    {
        public List<string> Warnings { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel == LogLevel.Warning)
            {
                Warnings.Add(formatter(state, exception));
            }
        }
    }
}
