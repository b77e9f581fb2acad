using AgeGroupAnomaly.Storage;
using AgeGroupAnomaly.Storage.Sqlite;
using Dapper;
using FluentAssertions;
using Microsoft.Data.Sqlite;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests.Storage;

[TestFixture]
public sealed class SqliteModelStoreTests : SqliteFileTestBase
{
    [Test]
    public async Task FirstUse_OfAnEmptyFile_CreatesTheSchemaInWalModeWithItsVersion()
    {
        File.WriteAllBytes(DatabasePath, []);
        using (var store = new SqliteModelStore(DatabasePath))
        {
            (await store.ListModelsAsync()).Should().BeEmpty();
        }

        using var connection = new SqliteConnection($"Data Source={DatabasePath}");
        connection.Open();
        connection.ExecuteScalar<int>("PRAGMA user_version").Should().Be(SqliteModelStore.SchemaVersion);
        connection.ExecuteScalar<string>("PRAGMA journal_mode").Should().Be("wal");
        connection.Query<string>("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .Should().Equal("ix_models_active_range", "ix_models_order", "ix_samples_age", "ux_models_one_active_per_range");
    }

    [Test]
    public async Task Reopen_AfterClose_SeesEverythingStored()
    {
        ModelRecord model = ModelStoreContractTests.Model(3, 5);
        long sampleId;
        using (var store = new SqliteModelStore(DatabasePath))
        {
            sampleId = await store.AddSampleAsync(new NewSample(4, [1f, 2f]));
            await store.AddModelAsync(model);
        }

        using var reopened = new SqliteModelStore($"Data Source={DatabasePath}");
        (await reopened.GetSampleAsync(sampleId))!.Embedding.Should().Equal(1f, 2f);
        (await reopened.GetModelAsync(model.Id)).Should().Be(model);
    }

    [Test]
    public async Task Embeddings_AreStoredAsLittleEndianFloat32BlobsWithTheirDimension()
    {
        using (var store = new SqliteModelStore(DatabasePath))
        {
            await store.AddSampleAsync(new NewSample(4, [1f, -2.5f]));
        }

        using var connection = new SqliteConnection($"Data Source={DatabasePath}");
        connection.Open();
        (int dimension, byte[] blob) = connection.QuerySingle<(int, byte[])>("SELECT dimension, embedding FROM samples");
        dimension.Should().Be(2);
        blob.Should().Equal(0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x20, 0xC0);
    }

    [Test]
    public async Task TwoStoresOnOneFile_WritingConcurrently_NeverSurfaceLockErrors()
    {
        using var first = new SqliteModelStore(DatabasePath);
        using var second = new SqliteModelStore(DatabasePath);
        var writers = new List<Task>();
        for (int w = 0; w < 8; w++)
        {
            SqliteModelStore store = w % 2 == 0 ? first : second;
            int writer = w;
            writers.Add(Task.Run(async () =>
            {
                for (int i = 0; i < 25; i++)
                {
                    await store.AddSamplesAsync([new NewSample(writer, [i, 1f]), new NewSample(writer, [i, 2f])]);
                    await store.AddModelAsync(ModelStoreContractTests.Model(writer, writer + 0.5));
                    _ = await store.ListModelsAsync();
                }
            }));
        }

        await Task.WhenAll(writers);

        (await first.CountSamplesAsync(0, 100)).Should().Be(8 * 25 * 2);
        IReadOnlyList<ModelRecord> models = await second.ListModelsAsync();
        models.Should().HaveCount(8 * 25);
        models.Where(m => m.IsActive).Should().HaveCount(8, "exactly one model per range stays active");
    }

    [Test]
    public async Task TheDatabase_RefusesTwoActiveModelsForOneRange()
    {
        using (var store = new SqliteModelStore(DatabasePath))
        {
            await store.AddModelAsync(ModelStoreContractTests.Model(3, 5));
        }

        using var connection = new SqliteConnection($"Data Source={DatabasePath}");
        connection.Open();
        Action sneak = () => connection.Execute("UPDATE models SET is_active = 1; INSERT INTO models SELECT 'x', age_min, age_max, model_type, embedding_dimension, parameters, sample_count, threshold, created_ticks, 1, checkpoint_path, checkpoint_sha256 FROM models");
        sneak.Should().Throw<SqliteException>().WithMessage("*UNIQUE*");
    }

    [Test]
    public async Task AFileWithANewerSchemaVersion_IsRefusedWithAClearMessage()
    {
        using (var connection = new SqliteConnection($"Data Source={DatabasePath}"))
        {
            connection.Open();
            connection.Execute("PRAGMA user_version = 99");
        }

        using var store = new SqliteModelStore(DatabasePath);

        await FluentActions.Awaiting(() => store.ListModelsAsync()).Should().ThrowAsync<ModelManagerException>().WithMessage("*99*newer*");
    }

    [Test]
    public async Task MemoryConnectionString_KeepsDataForTheStoresLifetime()
    {
        using var store = new SqliteModelStore("Data Source=:memory:");

        long id = await store.AddSampleAsync(new NewSample(4, [1f]));

        (await store.GetSampleAsync(id)).Should().NotBeNull();
    }
}
