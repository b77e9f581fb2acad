using System.Security.Cryptography;
using AgeGroupAnomaly.Storage;
using AgeGroupAnomaly.Storage.Sqlite;
using AgeGroupAnomaly.Training;
using Microsoft.Data.Sqlite;

namespace AgeGroupAnomaly.Tests.Reliability;

/// <summary>
/// A SQLite store with models in known states: an active one for ages [3, 5], an inactive one for
/// [7, 9], a deleted one, plus samples for the awkward cases (one sample at 20, huge values at 50,
/// identical rows at 60).
/// </summary>
public sealed class ReliabilityFixture : IDisposable
{
    public const int Dimension = 16;

    public static readonly TrainingConfig Fast = TrainingConfig.Default with { HiddenSizes = [8, 4], Epochs = 2, BatchSize = 16 };

    private ReliabilityFixture(string directory)
    {
        Directory = directory;
        DatabasePath = Path.Combine(directory, "models.db");
        Store = new SqliteModelStore(DatabasePath);
        Manager = NewManager();
    }

    public string Directory { get; }

    public string DatabasePath { get; }

    public string CheckpointDirectory => Path.Combine(Directory, "checkpoints");

    public SqliteModelStore Store { get; }

    public ModelManager Manager { get; }

    public Guid ActiveId { get; private set; }

    public Guid InactiveId { get; private set; }

    public Guid DeletedId { get; private set; }

    public static async Task<ReliabilityFixture> CreateAsync()
    {
        var f = new ReliabilityFixture(TestEnvironment.CreateTempDirectory());
        await f.Store.AddSamplesAsync([.. TestData.Embeddings(40, Dimension, seed: 1).Select(r => new NewSample(4, r))]);
        await f.Store.AddSamplesAsync([.. TestData.Embeddings(40, Dimension, seed: 2, offset: 0.8f).Select(r => new NewSample(8, r))]);
        await f.Store.AddSampleAsync(new NewSample(20, TestData.Embeddings(1, Dimension, seed: 3)[0]));
        await f.Store.AddSamplesAsync([.. TestData.Embeddings(20, Dimension, seed: 4, scale: 1e30f).Select(r => new NewSample(50, r))]);
        await f.Store.AddSamplesAsync([.. Enumerable.Range(0, 20).Select(_ => new NewSample(60, Enumerable.Repeat(0.25f, Dimension).ToArray()))]);

        f.DeletedId = (await f.Manager.TrainAgeGroupModelAsync(3, 5, Fast with { Seed = 1 })).ModelId;
        await f.Manager.DeleteAsync(f.DeletedId);
        f.ActiveId = (await f.Manager.TrainAgeGroupModelAsync(3, 5, Fast)).ModelId;
        f.InactiveId = (await f.Manager.TrainAgeGroupModelAsync(7, 9, Fast)).ModelId;
        await f.Manager.DeactivateAsync(f.InactiveId);
        return f;
    }

    public ModelManager NewManager() =>
        new(Store, new ModelManagerOptions { CheckpointDirectory = CheckpointDirectory, DefaultTrainingConfig = Fast });

    /// <summary>Everything a failed operation must leave as it was.</summary>
    public async Task<string> SnapshotAsync()
    {
        int samples = await Store.CountSamplesAsync(0, NewSample.MaxAgeYears);
        IReadOnlyList<ModelRecord> models = await Store.ListModelsAsync();
        string files = string.Join(";", System.IO.Directory.GetFiles(CheckpointDirectory).Order()
            .Select(p => $"{Path.GetFileName(p)}={Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(p)))}"));
        return $"samples={samples} models={string.Join(",", models.Select(m => $"{m.Id}:{m.IsActive}:{m.CheckpointSha256}"))} files={files}";
    }

    /// <summary>Rewrites one record's columns behind the library's back (as a careless tool or an attacker could).</summary>
    public void UpdateRecord(Guid id, string column, object value)
    {
        using var connection = new SqliteConnection($"Data Source={DatabasePath}");
        connection.Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = column switch
        {
            "checkpoint_sha256" => "UPDATE models SET checkpoint_sha256 = $v WHERE id = $id",
            "parameters" => "UPDATE models SET parameters = $v WHERE id = $id",
            "checkpoint_path" => "UPDATE models SET checkpoint_path = $v WHERE id = $id",
            _ => throw new ArgumentOutOfRangeException(nameof(column)),
        };
        command.Parameters.AddWithValue("$v", value);
        command.Parameters.AddWithValue("$id", id.ToString("D"));
        command.ExecuteNonQuery();
    }

    public void Dispose()
    {
        Store.Dispose();
        SqliteConnection.ClearAllPools();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}
