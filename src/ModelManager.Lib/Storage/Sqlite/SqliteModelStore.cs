using System.Data;
using System.Globalization;
using Dapper;
using Microsoft.Data.Sqlite;

namespace AgeGroupAnomaly.Storage.Sqlite;

/// <summary>
/// The embedded default <see cref="IModelStore"/>: one SQLite file (WAL mode, foreign keys, busy
/// timeout), accessed through Dapper with parameterised SQL only. Several instances or processes
/// may share one file; writers wait for each other instead of failing with "database is locked".
/// </summary>
public sealed class SqliteModelStore : IModelStore, IDisposable
{
    /// <summary>The schema version this library writes (kept in <c>PRAGMA user_version</c>).</summary>
    public const int SchemaVersion = 1;

    private const int BusyTimeoutMs = 30_000;

    private readonly string _connectionString;
    private readonly SemaphoreSlim _initGate = new(1, 1);
    private readonly SqliteConnection? _keepAlive;
    private volatile bool _initialized;

    /// <summary>Opens (and on first use creates) a store.</summary>
    /// <param name="pathOrConnectionString">A file path, or a connection string such as <c>Data Source=models.db</c>.
    /// <c>Data Source=:memory:</c> gives a private in-memory database that lives as long as the store.</param>
    public SqliteModelStore(string pathOrConnectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pathOrConnectionString);
        var builder = pathOrConnectionString.Contains('=', StringComparison.Ordinal)
            ? new SqliteConnectionStringBuilder(pathOrConnectionString)
            : new SqliteConnectionStringBuilder { DataSource = pathOrConnectionString };
        builder.Pooling = true;
        builder.DefaultTimeout = BusyTimeoutMs / 1000;

        if (builder.DataSource == ":memory:" || builder.Mode == SqliteOpenMode.Memory)
        {
            // A memory database exists per connection unless shared by name; one connection kept
            // open holds it for the store's lifetime.
            if (builder.DataSource == ":memory:")
            {
                builder.DataSource = "mmlib-" + Guid.NewGuid().ToString("N");
            }

            builder.Mode = SqliteOpenMode.Memory;
            builder.Cache = SqliteCacheMode.Shared;
            _connectionString = builder.ToString();
            _keepAlive = new SqliteConnection(_connectionString);
            _keepAlive.Open();
        }
        else
        {
            builder.Mode = SqliteOpenMode.ReadWriteCreate;
            string? directory = Path.GetDirectoryName(Path.GetFullPath(builder.DataSource));
            if (!string.IsNullOrEmpty(directory))
            {
                Directory.CreateDirectory(directory);
            }

            _connectionString = builder.ToString();
        }
    }

    /// <inheritdoc />
    public async Task<long> AddSampleAsync(NewSample sample, CancellationToken cancellationToken = default)
    {
        StoreValidation.Sample(sample);
        IReadOnlyList<long> ids = await InsertSamplesAsync([sample], cancellationToken).ConfigureAwait(false);
        return ids[0];
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<long>> AddSamplesAsync(IReadOnlyList<NewSample> samples, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(samples);
        for (int i = 0; i < samples.Count; i++)
        {
            StoreValidation.Sample(samples[i], i);
        }

        return InsertSamplesAsync(samples, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<int> CountSamplesAsync(double ageMin, double ageMax, CancellationToken cancellationToken = default)
    {
        StoreValidation.Range(ageMin, ageMax);
        using SqliteConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await connection.ExecuteScalarAsync<int>(new CommandDefinition(
            "SELECT COUNT(*) FROM samples WHERE age >= @ageMin AND age <= @ageMax",
            new { ageMin, ageMax },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<SampleRecord>> GetSamplesAsync(double ageMin, double ageMax, CancellationToken cancellationToken = default)
    {
        StoreValidation.Range(ageMin, ageMax);
        using SqliteConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        IEnumerable<SampleRow> rows = await connection.QueryAsync<SampleRow>(new CommandDefinition(
            SampleColumns + " WHERE age >= @ageMin AND age <= @ageMax ORDER BY id",
            new { ageMin, ageMax },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        return [.. rows.Select(r => r.ToRecord())];
    }

    /// <inheritdoc />
    public async Task<SampleRecord?> GetSampleAsync(long id, CancellationToken cancellationToken = default)
    {
        using SqliteConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        SampleRow? row = await connection.QuerySingleOrDefaultAsync<SampleRow>(new CommandDefinition(
            SampleColumns + " WHERE id = @id",
            new { id },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        return row?.ToRecord();
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<double>> GetSampleAgesAsync(CancellationToken cancellationToken = default)
    {
        using SqliteConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        IEnumerable<double> ages = await connection.QueryAsync<double>(new CommandDefinition(
            "SELECT age FROM samples ORDER BY age", cancellationToken: cancellationToken)).ConfigureAwait(false);
        return [.. ages];
    }

    /// <inheritdoc />
    public async Task AddModelAsync(ModelRecord model, CancellationToken cancellationToken = default)
    {
        StoreValidation.Model(model);
        using SqliteConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        if (model.IsActive)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE models SET is_active = 0 WHERE is_active = 1 AND age_min = @AgeMin AND age_max = @AgeMax",
                new { model.AgeMin, model.AgeMax },
                transaction,
                cancellationToken: cancellationToken)).ConfigureAwait(false);
        }

        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO models (id, age_min, age_max, model_type, embedding_dimension, parameters, sample_count,
                                threshold, created_ticks, is_active, checkpoint_path, checkpoint_sha256)
            VALUES (@Id, @AgeMin, @AgeMax, @ModelType, @EmbeddingDimension, @ParametersJson, @SampleCount,
                    @Threshold, @CreatedTicks, @IsActive, @CheckpointPath, @CheckpointSha256)
            """,
            new
            {
                Id = Key(model.Id),
                model.AgeMin,
                model.AgeMax,
                model.ModelType,
                model.EmbeddingDimension,
                model.ParametersJson,
                model.SampleCount,
                model.Threshold,
                CreatedTicks = model.CreatedUtc.ToUniversalTime().Ticks,
                IsActive = model.IsActive ? 1 : 0,
                model.CheckpointPath,
                model.CheckpointSha256,
            },
            transaction,
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<ModelRecord?> GetModelAsync(Guid id, CancellationToken cancellationToken = default)
    {
        using SqliteConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        ModelRow? row = await connection.QuerySingleOrDefaultAsync<ModelRow>(new CommandDefinition(
            ModelColumns + " WHERE id = @id", new { id = Key(id) }, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return row?.ToRecord();
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ModelRecord>> ListModelsAsync(CancellationToken cancellationToken = default)
    {
        using SqliteConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        IEnumerable<ModelRow> rows = await connection.QueryAsync<ModelRow>(new CommandDefinition(
            ModelColumns + " ORDER BY age_min, created_ticks, rowid", cancellationToken: cancellationToken)).ConfigureAwait(false);
        return [.. rows.Select(r => r.ToRecord())];
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ModelRecord>> FindActiveModelsAsync(double age, CancellationToken cancellationToken = default)
    {
        StoreValidation.Age(age, nameof(age));
        using SqliteConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        IEnumerable<ModelRow> rows = await connection.QueryAsync<ModelRow>(new CommandDefinition(
            ModelColumns + " WHERE is_active = 1 AND age_min <= @age AND age_max >= @age ORDER BY age_min, created_ticks, rowid",
            new { age },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        return [.. rows.Select(r => r.ToRecord())];
    }

    /// <inheritdoc />
    public async Task<bool> ActivateModelAsync(Guid id, CancellationToken cancellationToken = default)
    {
        using SqliteConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        string key = Key(id);
        await connection.ExecuteAsync(new CommandDefinition(
            """
            UPDATE models SET is_active = 0
            WHERE is_active = 1 AND id <> @key
              AND age_min = (SELECT age_min FROM models WHERE id = @key)
              AND age_max = (SELECT age_max FROM models WHERE id = @key);
            UPDATE models SET is_active = 1 WHERE id = @key;
            """,
            new { key },
            transaction,
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        int found = await connection.ExecuteScalarAsync<int>(new CommandDefinition(
            "SELECT COUNT(*) FROM models WHERE id = @key", new { key }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return found > 0;
    }

    /// <inheritdoc />
    public async Task<bool> DeactivateModelAsync(Guid id, CancellationToken cancellationToken = default)
    {
        using SqliteConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        int changed = await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE models SET is_active = 0 WHERE id = @id", new { id = Key(id) }, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return changed > 0;
    }

    /// <inheritdoc />
    public async Task<bool> DeleteModelAsync(Guid id, CancellationToken cancellationToken = default)
    {
        using SqliteConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        int changed = await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM models WHERE id = @id", new { id = Key(id) }, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return changed > 0;
    }

    /// <summary>Closes the store's pooled connections (and an in-memory database).</summary>
    public void Dispose()
    {
        using (var connection = new SqliteConnection(_connectionString))
        {
            SqliteConnection.ClearPool(connection);
        }

        _keepAlive?.Dispose();
        _initGate.Dispose();
    }

    private const string SampleColumns =
        "SELECT id AS Id, age AS Age, dimension AS Dimension, embedding AS Embedding, subject AS Subject, label AS Label, created_ticks AS CreatedTicks FROM samples";

    private const string ModelColumns =
        """
        SELECT id AS Id, age_min AS AgeMin, age_max AS AgeMax, model_type AS ModelType, embedding_dimension AS EmbeddingDimension,
               parameters AS ParametersJson, sample_count AS SampleCount, threshold AS Threshold, created_ticks AS CreatedTicks,
               is_active AS IsActive, checkpoint_path AS CheckpointPath, checkpoint_sha256 AS CheckpointSha256
        FROM models
        """;

    private static string Key(Guid id) => id.ToString("D", CultureInfo.InvariantCulture);

    private async Task<IReadOnlyList<long>> InsertSamplesAsync(IReadOnlyList<NewSample> samples, CancellationToken cancellationToken)
    {
        using SqliteConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        long now = DateTime.UtcNow.Ticks;
        var ids = new List<long>(samples.Count);
        foreach (NewSample sample in samples)
        {
            ids.Add(await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                """
                INSERT INTO samples (age, dimension, embedding, subject, label, created_ticks)
                VALUES (@AgeYears, @Dimension, @Embedding, @Subject, @Label, @now);
                SELECT last_insert_rowid();
                """,
                new { sample.AgeYears, Dimension = sample.Embedding.Length, Embedding = EmbeddingBlob.Encode(sample.Embedding), sample.Subject, sample.Label, now },
                transaction,
                cancellationToken: cancellationToken)).ConfigureAwait(false));
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return ids;
    }

    // Connections and transactions are disposed synchronously: Microsoft.Data.Sqlite's
    // DisposeAsync only wraps Dispose, so nothing is gained by awaiting it.
    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await connection.ExecuteAsync(new CommandDefinition(
                $"PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {BusyTimeoutMs};", cancellationToken: cancellationToken)).ConfigureAwait(false);
            if (!_initialized)
            {
                await InitializeAsync(connection, cancellationToken).ConfigureAwait(false);
            }

            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private async Task InitializeAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        await _initGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_initialized)
            {
                return;
            }

            if (_keepAlive is null)
            {
                // Persistent per file; must be set outside a transaction.
                await connection.ExecuteAsync(new CommandDefinition("PRAGMA journal_mode = WAL;", cancellationToken: cancellationToken)).ConfigureAwait(false);
            }

            using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            int version = await connection.ExecuteScalarAsync<int>(new CommandDefinition("PRAGMA user_version", transaction: transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            if (version > SchemaVersion)
            {
                throw new ModelManagerException(
                    $"The database's schema version is {version}, newer than the {SchemaVersion} this version of ModelManager.Lib understands; upgrade the library.");
            }

            foreach ((int target, string sql) in Migrations.Where(m => m.Version > version))
            {
                await connection.ExecuteAsync(new CommandDefinition(sql, transaction: transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
                await connection.ExecuteAsync(new CommandDefinition(
                    string.Create(CultureInfo.InvariantCulture, $"PRAGMA user_version = {target};"), transaction: transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            _initialized = true;
        }
        finally
        {
            _initGate.Release();
        }
    }

    /// <summary>Schema steps; each runs once, in order, and bumps <c>user_version</c>.</summary>
    private static readonly (int Version, string Sql)[] Migrations =
    [
        (1, """
            CREATE TABLE samples (
                id            INTEGER PRIMARY KEY AUTOINCREMENT,
                age           REAL    NOT NULL CHECK (age >= 0),
                dimension     INTEGER NOT NULL CHECK (dimension > 0),
                embedding     BLOB    NOT NULL CHECK (length(embedding) = 4 * dimension),
                subject       TEXT    NULL,
                label         TEXT    NULL,
                created_ticks INTEGER NOT NULL
            );
            CREATE INDEX ix_samples_age ON samples (age);

            CREATE TABLE models (
                id                  TEXT    PRIMARY KEY NOT NULL,
                age_min             REAL    NOT NULL,
                age_max             REAL    NOT NULL,
                model_type          TEXT    NOT NULL,
                embedding_dimension INTEGER NOT NULL,
                parameters          TEXT    NOT NULL,
                sample_count        INTEGER NOT NULL,
                threshold           REAL    NOT NULL,
                created_ticks       INTEGER NOT NULL,
                is_active           INTEGER NOT NULL CHECK (is_active IN (0, 1)),
                checkpoint_path     TEXT    NOT NULL,
                checkpoint_sha256   TEXT    NOT NULL,
                CHECK (age_min <= age_max)
            );
            CREATE INDEX ix_models_active_range ON models (is_active, age_min, age_max);
            CREATE INDEX ix_models_order ON models (age_min, created_ticks);
            CREATE UNIQUE INDEX ux_models_one_active_per_range ON models (age_min, age_max) WHERE is_active = 1;
            """),
    ];

#pragma warning disable CA1812, CA1819 // instantiated and filled by Dapper
    private sealed class SampleRow
    {
        public long Id { get; set; }

        public double Age { get; set; }

        public int Dimension { get; set; }

        public byte[] Embedding { get; set; } = [];

        public string? Subject { get; set; }

        public string? Label { get; set; }

        public long CreatedTicks { get; set; }

        public SampleRecord ToRecord() =>
            new(Id, Age, EmbeddingBlob.Decode(Embedding, Dimension), Subject, Label, new DateTime(CreatedTicks, DateTimeKind.Utc));
    }

    private sealed class ModelRow
    {
        public string Id { get; set; } = string.Empty;

        public double AgeMin { get; set; }

        public double AgeMax { get; set; }

        public string ModelType { get; set; } = string.Empty;

        public int EmbeddingDimension { get; set; }

        public string ParametersJson { get; set; } = string.Empty;

        public int SampleCount { get; set; }

        public double Threshold { get; set; }

        public long CreatedTicks { get; set; }

        public long IsActive { get; set; }

        public string CheckpointPath { get; set; } = string.Empty;

        public string CheckpointSha256 { get; set; } = string.Empty;

        public ModelRecord ToRecord() => new()
        {
            Id = Guid.Parse(Id, CultureInfo.InvariantCulture),
            AgeMin = AgeMin,
            AgeMax = AgeMax,
            ModelType = ModelType,
            EmbeddingDimension = EmbeddingDimension,
            ParametersJson = ParametersJson,
            SampleCount = SampleCount,
            Threshold = Threshold,
            CreatedUtc = new DateTime(CreatedTicks, DateTimeKind.Utc),
            IsActive = IsActive != 0,
            CheckpointPath = CheckpointPath,
            CheckpointSha256 = CheckpointSha256,
        };
    }
#pragma warning restore CA1812, CA1819
}
