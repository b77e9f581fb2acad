using System.Data;
using System.Data.Common;
using System.Globalization;
using Dapper;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgeGroupAnomaly.Storage.Sqlite;

/// <summary>
/// The embedded default <see cref="IModelStore"/>: one SQLite file (WAL mode, foreign keys, busy
/// timeout), accessed through Dapper with parameterised SQL only. Several instances or processes
/// may share one file; writers wait for each other instead of failing with "database is locked".
/// </summary>
/// <remarks>
/// A damaged model record (an id that is not a GUID, a value of the wrong type or out of range)
/// affects only itself: lists skip it and log a warning naming its row id, asking for its id throws
/// <see cref="DamagedRecordException"/>. After <see cref="Dispose"/> every call throws
/// <see cref="ObjectDisposedException"/>; calls already under way when it is called finish first,
/// and the connections (and an in-memory database) are released when the last one ends.
/// </remarks>
public sealed class SqliteModelStore : IModelStore, IDisposable
{
    /// <summary>The schema version this library writes (kept in <c>PRAGMA user_version</c>).</summary>
    public const int SchemaVersion = 1;

    private const int BusyTimeoutMs = 30_000;

    private readonly string _connectionString;
    private readonly string _dataSource;
    private readonly SemaphoreSlim _initGate = new(1, 1);
    private readonly SqliteConnection? _keepAlive;
    private readonly ILogger _logger;
    private readonly Lock _lifetime = new();
    private int _users;
    private bool _disposed;
    private volatile bool _initialized;

    /// <summary>Opens (and on first use creates) a store.</summary>
    /// <param name="pathOrConnectionString">A file path, or a connection string such as <c>Data Source=models.db</c>.
    /// <c>Data Source=:memory:</c> gives a private in-memory database that lives as long as the store.</param>
    /// <param name="logger">Receives a warning for each damaged record skipped; null for none.</param>
    /// <exception cref="ArgumentException">The path is a directory.</exception>
    public SqliteModelStore(string pathOrConnectionString, ILogger<SqliteModelStore>? logger = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pathOrConnectionString);
        _logger = (ILogger?)logger ?? NullLogger.Instance;
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
            if (Directory.Exists(builder.DataSource))
            {
                throw new ArgumentException($"The SQLite database path '{Path.GetFullPath(builder.DataSource)}' is a directory; give the path of a database file (it is created when missing).", nameof(pathOrConnectionString));
            }

            string? directory = Path.GetDirectoryName(Path.GetFullPath(builder.DataSource));
            if (!string.IsNullOrEmpty(directory))
            {
                Directory.CreateDirectory(directory);
            }

            _connectionString = builder.ToString();
        }

        _dataSource = builder.DataSource;
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
        StoreValidation.Samples(samples);

        return InsertSamplesAsync(samples, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<bool> DeleteSampleAsync(long id, CancellationToken cancellationToken = default)
    {
        using SqliteConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await connection.ExecuteAsync(new CommandDefinition("DELETE FROM samples WHERE id = @id", new { id }, cancellationToken: cancellationToken)).ConfigureAwait(false) > 0;
    }

    /// <inheritdoc />
    public async Task<int> DeleteSamplesAsync(double ageMin, double ageMax, CancellationToken cancellationToken = default)
    {
        StoreValidation.Range(ageMin, ageMax);
        using SqliteConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM samples WHERE age >= @ageMin AND age <= @ageMax", new { ageMin, ageMax }, cancellationToken: cancellationToken)).ConfigureAwait(false);
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
        List<ModelRecord> found = await ReadModelsAsync(connection, " WHERE id = @id", new { id = Key(id) }, throwIfDamaged: true, cancellationToken).ConfigureAwait(false);
        return found.Count == 0 ? null : found[0];
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ModelRecord>> ListModelsAsync(CancellationToken cancellationToken = default)
    {
        using SqliteConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await ReadModelsAsync(connection, " ORDER BY age_min, created_ticks, rowid", null, throwIfDamaged: false, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyCollection<string>> ListCheckpointLocationsAsync(CancellationToken cancellationToken = default)
    {
        using SqliteConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return [.. await connection.QueryAsync<string>(new CommandDefinition(
            "SELECT CAST(checkpoint_path AS TEXT) FROM models WHERE checkpoint_path IS NOT NULL", cancellationToken: cancellationToken)).ConfigureAwait(false)];
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ModelRecord>> FindActiveModelsAsync(double age, CancellationToken cancellationToken = default)
    {
        StoreValidation.Age(age, nameof(age));
        using SqliteConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await ReadModelsAsync(
            connection, " WHERE is_active = 1 AND age_min <= @age AND age_max >= @age ORDER BY age_min, created_ticks, rowid", new { age }, throwIfDamaged: false, cancellationToken).ConfigureAwait(false);
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

    /// <summary>
    /// Closes the store's pooled connections (and an in-memory database) once the calls under way
    /// have finished; every later call throws <see cref="ObjectDisposedException"/>.
    /// </summary>
    public void Dispose()
    {
        lock (_lifetime)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            if (_users > 0)
            {
                return; // the last call to finish releases
            }
        }

        Release();
    }

    /// <summary>Whether the connections have been released (after disposal, once no call used the store).</summary>
    internal bool Released { get; private set; }

    /// <summary>A connection that counts as a use of the store until it is disposed (for tests of disposal while in use).</summary>
    internal Task<SqliteConnection> OpenConnectionAsync(CancellationToken cancellationToken = default) => OpenAsync(cancellationToken);

    private void Enter()
    {
        lock (_lifetime)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _users++;
        }
    }

    private void Exit()
    {
        bool release;
        lock (_lifetime)
        {
            release = --_users == 0 && _disposed;
        }

        if (release)
        {
            Release();
        }
    }

    private void Release()
    {
        using (var connection = new SqliteConnection(_connectionString))
        {
            SqliteConnection.ClearPool(connection);
        }

        _keepAlive?.Dispose();
        _initGate.Dispose();
        Released = true;
    }

    private const string SampleColumns =
        "SELECT id AS Id, age AS Age, dimension AS Dimension, embedding AS Embedding, subject AS Subject, label AS Label, created_ticks AS CreatedTicks FROM samples";

    private const string ModelColumns =
        """
        SELECT rowid AS RowId, id AS Id, age_min AS AgeMin, age_max AS AgeMax, model_type AS ModelType, embedding_dimension AS EmbeddingDimension,
               parameters AS ParametersJson, sample_count AS SampleCount, threshold AS Threshold, created_ticks AS CreatedTicks,
               is_active AS IsActive, checkpoint_path AS CheckpointPath, checkpoint_sha256 AS CheckpointSha256
        FROM models
        """;

    private static string Key(Guid id) => id.ToString("D", CultureInfo.InvariantCulture);

    /// <summary>
    /// Model records, each converted on its own: a damaged row is skipped with a warning naming its
    /// row id, or, when <paramref name="throwIfDamaged"/> (one id was asked for), reported.
    /// </summary>
    private async Task<List<ModelRecord>> ReadModelsAsync(SqliteConnection connection, string where, object? arguments, bool throwIfDamaged, CancellationToken cancellationToken)
    {
        var records = new List<ModelRecord>();
        using DbDataReader reader = await connection.ExecuteReaderAsync(new CommandDefinition(ModelColumns + where, arguments, cancellationToken: cancellationToken)).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            long rowId = reader.GetInt64(0);
            string? problem = ModelRow.TryRead(reader, out ModelRecord? record);
            if (problem is null)
            {
                records.Add(record!);
            }
            else if (throwIfDamaged)
            {
                throw new DamagedRecordException(rowId, problem);
            }
            else
            {
                StoreLog.DamagedRecordSkipped(_logger, rowId, problem);
            }
        }

        return records;
    }

    private async Task<IReadOnlyList<long>> InsertSamplesAsync(IReadOnlyList<NewSample> samples, CancellationToken cancellationToken)
    {
        using SqliteConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        if (samples.Count > 0)
        {
            // Read inside the write transaction, so a writer on another connection cannot slip in a different dimension.
            int? stored = await connection.ExecuteScalarAsync<int?>(new CommandDefinition(
                "SELECT dimension FROM samples LIMIT 1", transaction: transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            StoreValidation.SameDimension(samples, stored);
        }

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
        Enter(); // released when the connection is disposed
        var connection = new StoreConnection(this, _connectionString);
        try
        {
            try
            {
                await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (SqliteException ex) when (ex.SqliteErrorCode == 14)
            {
                string path = _keepAlive is null ? Path.GetFullPath(_dataSource) : _dataSource;
                string why = Directory.Exists(path) ? "it is a directory" : File.Exists(path) ? "the file cannot be opened (check its permissions)" : "the file cannot be created there (check that the folder exists and is writable)";
                throw new ModelManagerException($"The SQLite database '{path}' cannot be opened: {why} ({ex.Message}).", ex);
            }

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

    /// <summary>Converts one row of <see cref="ModelColumns"/> strictly: every value must have the type and range the library writes.</summary>
    private static class ModelRow
    {
        public static string? TryRead(DbDataReader reader, out ModelRecord? record)
        {
            record = null;
            try
            {
                string idText = Text(reader, 1, "id");
                if (!Guid.TryParseExact(idText, "D", out Guid id) || idText != Key(id))
                {
                    return $"its id '{Printable(idText)}' is not a GUID in the form this library writes";
                }

                long ticks = Integer(reader, 9, "created_ticks");
                if (ticks < DateTime.MinValue.Ticks || ticks > DateTime.MaxValue.Ticks)
                {
                    return string.Create(CultureInfo.InvariantCulture, $"created_ticks {ticks} is not a time");
                }

                long active = Integer(reader, 10, "is_active");
                var candidate = new ModelRecord
                {
                    Id = id,
                    AgeMin = Real(reader, 2, "age_min"),
                    AgeMax = Real(reader, 3, "age_max"),
                    ModelType = Text(reader, 4, "model_type"),
                    EmbeddingDimension = checked((int)Integer(reader, 5, "embedding_dimension")),
                    ParametersJson = Text(reader, 6, "parameters"),
                    SampleCount = checked((int)Integer(reader, 7, "sample_count")),
                    Threshold = Real(reader, 8, "threshold"),
                    CreatedUtc = new DateTime(ticks, DateTimeKind.Utc),
                    IsActive = active switch { 0 => false, 1 => true, _ => throw new FormatException($"is_active is {active}, not 0 or 1") },
                    CheckpointPath = Text(reader, 11, "checkpoint_path"),
                    CheckpointSha256 = Text(reader, 12, "checkpoint_sha256"),
                };
                StoreValidation.Model(candidate);
                record = candidate;
                return null;
            }
            catch (Exception ex) when (ex is FormatException or InvalidCastException or OverflowException or ArgumentException)
            {
                return ex.Message;
            }
        }

        private static string Text(DbDataReader reader, int ordinal, string column) =>
            reader.GetValue(ordinal) as string ?? throw new FormatException($"{column} is {Describe(reader.GetValue(ordinal))}, not text");

        private static long Integer(DbDataReader reader, int ordinal, string column) =>
            reader.GetValue(ordinal) is long value ? value : throw new FormatException($"{column} is {Describe(reader.GetValue(ordinal))}, not an integer");

        private static double Real(DbDataReader reader, int ordinal, string column) => reader.GetValue(ordinal) switch
        {
            double value => value,
            long value => value,
            object other => throw new FormatException($"{column} is {Describe(other)}, not a number"),
        };

        private static string Describe(object value) => value switch
        {
            DBNull => "NULL",
            string text => $"the text '{Printable(text)}'",
            byte[] blob => string.Create(CultureInfo.InvariantCulture, $"a {blob.Length}-byte BLOB"),
            _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "?",
        };

        private static string Printable(string text)
        {
            string shown = text.Length > 60 ? text[..60] + "..." : text;
            return string.Concat(shown.Select(c => char.IsControl(c) ? string.Create(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}") : c.ToString()));
        }
    }

    /// <summary>A connection whose disposal ends one use of the store.</summary>
    private sealed class StoreConnection(SqliteModelStore owner, string connectionString) : SqliteConnection(connectionString)
    {
        private int _ended;

        protected override void Dispose(bool disposing)
        {
            base.Dispose(disposing);
            if (disposing && Interlocked.Exchange(ref _ended, 1) == 0)
            {
                owner.Exit();
            }
        }
    }
#pragma warning restore CA1812, CA1819
}
