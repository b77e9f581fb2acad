using System.Data.Common;
using System.Globalization;
using Dapper;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using AgeGroupAnomaly.Storage.Sqlite;
using NpgsqlTypes;

namespace AgeGroupAnomaly.Storage.PostgreSql;

/// <summary>
/// An <see cref="IModelStore"/> in PostgreSQL (Npgsql + Dapper) that several app instances share:
/// samples and model records in one schema, created and migrated on first use; one active model per
/// age range enforced by the database (a partial unique index); every write in one transaction.
/// It also coordinates the instances: a training lock per age range (<see cref="ITrainingLockProvider"/>,
/// a session advisory lock that goes with its connection when a process dies) and change
/// notifications (<see cref="IModelChangeNotifier"/>, LISTEN/NOTIFY sent in the writing transaction,
/// so they arrive only for committed changes).
/// </summary>
/// <remarks>
/// Embeddings are stored as <c>bytea</c> holding little-endian float32 values (as the SQLite store
/// does): as compact on disk as <c>real[]</c> (which adds a 20-byte header) but half the bytes on
/// the wire (the binary protocol sends <c>real[]</c> with a 4-byte length per value), and about twice
/// as fast to copy in and several times faster to read back here; see the README for the measurement. After <see cref="Dispose"/> every call throws <see cref="ObjectDisposedException"/>.
/// </remarks>
public sealed class PostgresModelStore : IModelStore, ITrainingLockProvider, IModelChangeNotifier, IDisposable, IAsyncDisposable
{
    /// <summary>The schema version this library writes (rows of the <c>modelmanager_migrations</c> table).</summary>
    public const int SchemaVersion = 1;

    /// <summary>The notification channel; the payload is the schema name.</summary>
    internal const string Channel = "modelmanager_models_changed";

    private readonly NpgsqlDataSource _dataSource;
    private readonly string _schema;
    private readonly bool _listen;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _initGate = new(1, 1);
    private readonly ChangeListener _listener;
    private volatile bool _initialized;
    private volatile bool _disposed;

    /// <summary>Opens a store in the <c>public</c> schema of the database the connection string names.</summary>
    /// <param name="connectionString">An Npgsql connection string.</param>
    /// <param name="logger">Receives warnings (damaged records, a lost listening connection); null for none.</param>
    public PostgresModelStore(string connectionString, ILogger<PostgresModelStore>? logger = null)
        : this(new PostgresModelStoreOptions { ConnectionString = connectionString }, logger)
    {
    }

    /// <summary>Opens a store (the schema is created or migrated on first use, not here).</summary>
    /// <param name="options">Connection string, schema, listening.</param>
    /// <param name="logger">Receives warnings (damaged records, a lost listening connection); null for none.</param>
    /// <exception cref="ArgumentException">An option is unusable (named in the message).</exception>
    public PostgresModelStore(PostgresModelStoreOptions options, ILogger<PostgresModelStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _schema = options.Schema;
        _listen = options.ListenForChanges;
        var builder = new NpgsqlConnectionStringBuilder(options.ConnectionString) { SearchPath = options.Schema };
        _dataSource = NpgsqlDataSource.Create(builder);
        _listener = new ChangeListener(this);
    }

    /// <summary>The schema holding the tables.</summary>
    public string Schema => _schema;

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
        using NpgsqlConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false); // pooled: closing does no I/O
        return await connection.ExecuteAsync(new CommandDefinition("DELETE FROM samples WHERE id = @id", new { id }, cancellationToken: cancellationToken)).ConfigureAwait(false) > 0;
    }

    /// <inheritdoc />
    public async Task<int> DeleteSamplesAsync(double ageMin, double ageMax, CancellationToken cancellationToken = default)
    {
        StoreValidation.Range(ageMin, ageMax);
        using NpgsqlConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false); // pooled: closing does no I/O
        return await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM samples WHERE age >= @ageMin AND age <= @ageMax", new { ageMin, ageMax }, cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<int> CountSamplesAsync(double ageMin, double ageMax, CancellationToken cancellationToken = default)
    {
        StoreValidation.Range(ageMin, ageMax);
        using NpgsqlConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false); // pooled: closing does no I/O
        return checked((int)await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT COUNT(*) FROM samples WHERE age >= @ageMin AND age <= @ageMax", new { ageMin, ageMax }, cancellationToken: cancellationToken)).ConfigureAwait(false));
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<SampleRecord>> GetSamplesAsync(double ageMin, double ageMax, CancellationToken cancellationToken = default)
    {
        StoreValidation.Range(ageMin, ageMax);
        using NpgsqlConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false); // pooled: closing does no I/O
        IEnumerable<SampleRow> rows = await connection.QueryAsync<SampleRow>(new CommandDefinition(
            SampleColumns + " WHERE age >= @ageMin AND age <= @ageMax ORDER BY id", new { ageMin, ageMax }, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return [.. rows.Select(r => r.ToRecord())];
    }

    /// <inheritdoc />
    public async Task<SampleRecord?> GetSampleAsync(long id, CancellationToken cancellationToken = default)
    {
        using NpgsqlConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false); // pooled: closing does no I/O
        SampleRow? row = await connection.QuerySingleOrDefaultAsync<SampleRow>(new CommandDefinition(
            SampleColumns + " WHERE id = @id", new { id }, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return row?.ToRecord();
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<double>> GetSampleAgesAsync(CancellationToken cancellationToken = default)
    {
        using NpgsqlConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false); // pooled: closing does no I/O
        return [.. await connection.QueryAsync<double>(new CommandDefinition("SELECT age FROM samples ORDER BY age", cancellationToken: cancellationToken)).ConfigureAwait(false)];
    }

    /// <inheritdoc />
    public async Task AddModelAsync(ModelRecord model, CancellationToken cancellationToken = default)
    {
        StoreValidation.Model(model);
        await ChangeModelsAsync(
            async (connection, transaction) =>
            {
                if (model.IsActive)
                {
                    await connection.ExecuteAsync(new CommandDefinition(
                        "UPDATE models SET is_active = false WHERE is_active AND age_min = @AgeMin AND age_max = @AgeMax",
                        new { model.AgeMin, model.AgeMax }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
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
                        model.Id,
                        model.AgeMin,
                        model.AgeMax,
                        model.ModelType,
                        model.EmbeddingDimension,
                        model.ParametersJson,
                        model.SampleCount,
                        model.Threshold,
                        CreatedTicks = model.CreatedUtc.ToUniversalTime().Ticks,
                        model.IsActive,
                        model.CheckpointPath,
                        model.CheckpointSha256,
                    },
                    transaction,
                    cancellationToken: cancellationToken)).ConfigureAwait(false);
                return true;
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<ModelRecord?> GetModelAsync(Guid id, CancellationToken cancellationToken = default)
    {
        using NpgsqlConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false); // pooled: closing does no I/O
        List<ModelRecord> found = await ReadModelsAsync(connection, " WHERE id = @id", new { id }, throwIfDamaged: true, cancellationToken).ConfigureAwait(false);
        return found.Count == 0 ? null : found[0];
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ModelRecord>> ListModelsAsync(CancellationToken cancellationToken = default)
    {
        using NpgsqlConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false); // pooled: closing does no I/O
        return await ReadModelsAsync(connection, " ORDER BY age_min, created_ticks, seq", null, throwIfDamaged: false, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyCollection<string>> ListCheckpointLocationsAsync(CancellationToken cancellationToken = default)
    {
        using NpgsqlConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false); // pooled: closing does no I/O
        return [.. await connection.QueryAsync<string>(new CommandDefinition("SELECT checkpoint_path FROM models", cancellationToken: cancellationToken)).ConfigureAwait(false)];
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ModelRecord>> FindActiveModelsAsync(double age, CancellationToken cancellationToken = default)
    {
        StoreValidation.Age(age, nameof(age));
        using NpgsqlConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false); // pooled: closing does no I/O
        return await ReadModelsAsync(
            connection, " WHERE is_active AND age_min <= @age AND age_max >= @age ORDER BY age_min, created_ticks, seq", new { age }, throwIfDamaged: false, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task<bool> ActivateModelAsync(Guid id, CancellationToken cancellationToken = default) =>
        ChangeModelsAsync(
            async (connection, transaction) =>
            {
                await connection.ExecuteAsync(new CommandDefinition(
                    """
                    UPDATE models SET is_active = false
                    WHERE is_active AND id <> @id
                      AND (age_min, age_max) = (SELECT age_min, age_max FROM models WHERE id = @id)
                    """,
                    new { id }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
                return await connection.ExecuteAsync(new CommandDefinition(
                    "UPDATE models SET is_active = true WHERE id = @id", new { id }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false) > 0;
            },
            cancellationToken);

    /// <inheritdoc />
    public Task<bool> DeactivateModelAsync(Guid id, CancellationToken cancellationToken = default) =>
        ChangeModelsAsync(
            async (connection, transaction) => await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE models SET is_active = false WHERE id = @id", new { id }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false) > 0,
            cancellationToken);

    /// <inheritdoc />
    public Task<bool> DeleteModelAsync(Guid id, CancellationToken cancellationToken = default) =>
        ChangeModelsAsync(
            async (connection, transaction) => await connection.ExecuteAsync(new CommandDefinition(
                "DELETE FROM models WHERE id = @id", new { id }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false) > 0,
            cancellationToken);

    /// <inheritdoc />
    /// <remarks>A PostgreSQL session advisory lock held on a connection of its own until released; if the process dies, the server releases it with the connection.</remarks>
    public async Task<IAsyncDisposable?> TryAcquireTrainingLockAsync(double ageMin, double ageMax, CancellationToken cancellationToken = default)
    {
        StoreValidation.Range(ageMin, ageMax);
        long key = AdvisoryKeys.Training(_schema, ageMin, ageMax);
        NpgsqlConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (await connection.ExecuteScalarAsync<bool>(new CommandDefinition("SELECT pg_try_advisory_lock(@key)", new { key }, cancellationToken: cancellationToken)).ConfigureAwait(false))
            {
                return new TrainingLock(connection, key, ageMin, ageMax, _logger);
            }
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        await connection.DisposeAsync().ConfigureAwait(false);
        return null;
    }

    /// <inheritdoc />
    /// <remarks>Waits in the server (<c>pg_advisory_lock</c>); cancelling the token cancels the wait there.</remarks>
    public async Task<IAsyncDisposable> AcquireTrainingLockAsync(double ageMin, double ageMax, CancellationToken cancellationToken = default)
    {
        StoreValidation.Range(ageMin, ageMax);
        long key = AdvisoryKeys.Training(_schema, ageMin, ageMax);
        NpgsqlConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await connection.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_lock(@key)", new { key }, commandTimeout: 0, cancellationToken: cancellationToken)).ConfigureAwait(false);
            return new TrainingLock(connection, key, ageMin, ageMax, _logger);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// The first subscription starts one listening connection (unless
    /// <see cref="PostgresModelStoreOptions.ListenForChanges"/> is off); when it fails it is opened
    /// again, and subscribers are told once it listens again (changes may have been missed meanwhile).
    /// </remarks>
    public IDisposable SubscribeToModelChanges(Action onChanged)
    {
        ArgumentNullException.ThrowIfNull(onChanged);
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _listener.Subscribe(onChanged, start: _listen);
    }

    /// <summary>Stops listening and closes the store's connections; later calls throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>Stops listening and closes the store's connections; later calls throw <see cref="ObjectDisposedException"/>.</summary>
    /// <returns>A task that completes when the connections are closed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await _listener.StopAsync().ConfigureAwait(false);
        await _dataSource.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>An open connection with the schema ready (for tests and tools in this repository).</summary>
    internal async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_initialized)
            {
                await InitializeAsync(connection, cancellationToken).ConfigureAwait(false);
            }

            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Runs a change of model records in one transaction that first takes the store-wide model-write
    /// lock (so two instances activating in one range wait for each other instead of one failing on
    /// the unique index) and ends by notifying the other instances, delivered when it commits.
    /// </summary>
    private async Task<bool> ChangeModelsAsync(Func<NpgsqlConnection, NpgsqlTransaction, Task<bool>> change, CancellationToken cancellationToken)
    {
        using NpgsqlConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false); // pooled: closing does no I/O
        using NpgsqlTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await connection.ExecuteAsync(new CommandDefinition(
            "SELECT pg_advisory_xact_lock(@key)", new { key = AdvisoryKeys.ModelWrites(_schema) }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        bool changed = await change(connection, transaction).ConfigureAwait(false);
        if (changed)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "SELECT pg_notify(@channel, @schema)", new { channel = Channel, schema = _schema }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return changed;
    }

    /// <summary>
    /// Samples go in by binary COPY with ids taken from the identity sequence first (ascending, in
    /// input order), in one transaction that also checks the store's single dimension under a lock,
    /// so two writers cannot slip in different dimensions.
    /// </summary>
    private async Task<IReadOnlyList<long>> InsertSamplesAsync(IReadOnlyList<NewSample> samples, CancellationToken cancellationToken)
    {
        using NpgsqlConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false); // pooled: closing does no I/O
        if (samples.Count == 0)
        {
            return [];
        }

        using NpgsqlTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await connection.ExecuteAsync(new CommandDefinition(
            "SELECT pg_advisory_xact_lock(@key)", new { key = AdvisoryKeys.SampleWrites(_schema) }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        int? stored = await connection.ExecuteScalarAsync<int?>(new CommandDefinition(
            "SELECT dimension FROM samples LIMIT 1", transaction: transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        StoreValidation.SameDimension(samples, stored);

        long[] ids = [.. (await connection.QueryAsync<long>(new CommandDefinition(
            "SELECT nextval(pg_get_serial_sequence('samples', 'id')) FROM generate_series(1, @count)",
            new { count = samples.Count }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false)).Order()];
        long now = DateTime.UtcNow.Ticks;
        NpgsqlBinaryImporter writer = await connection.BeginBinaryImportAsync(
            "COPY samples (id, age, dimension, embedding, subject, label, created_ticks) FROM STDIN (FORMAT BINARY)", cancellationToken).ConfigureAwait(false);
        try
        {
            for (int i = 0; i < samples.Count; i++)
            {
                NewSample sample = samples[i];
                await writer.StartRowAsync(cancellationToken).ConfigureAwait(false);
                await writer.WriteAsync(ids[i], NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
                await writer.WriteAsync(sample.AgeYears, NpgsqlDbType.Double, cancellationToken).ConfigureAwait(false);
                await writer.WriteAsync(sample.Embedding.Length, NpgsqlDbType.Integer, cancellationToken).ConfigureAwait(false);
                await writer.WriteAsync(EmbeddingBlob.Encode(sample.Embedding), NpgsqlDbType.Bytea, cancellationToken).ConfigureAwait(false);
                await WriteTextAsync(writer, sample.Subject, cancellationToken).ConfigureAwait(false);
                await WriteTextAsync(writer, sample.Label, cancellationToken).ConfigureAwait(false);
                await writer.WriteAsync(now, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
            }

            await writer.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await writer.DisposeAsync().ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return ids;
    }

    private static Task WriteTextAsync(NpgsqlBinaryImporter writer, string? text, CancellationToken cancellationToken) =>
        text is null ? writer.WriteNullAsync(cancellationToken) : writer.WriteAsync(text, NpgsqlDbType.Text, cancellationToken);

    private async Task InitializeAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await _initGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_initialized)
            {
                return;
            }

            // One instance migrates at a time (the lock ends with the transaction); every step is idempotent as well.
            using NpgsqlTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            string schema = Quote(_schema);
            await connection.ExecuteAsync(new CommandDefinition(
                $"""
                SELECT pg_advisory_xact_lock(@key);
                CREATE SCHEMA IF NOT EXISTS {schema};
                CREATE TABLE IF NOT EXISTS {schema}.modelmanager_migrations (
                    version     integer     PRIMARY KEY,
                    description text        NOT NULL,
                    applied     timestamptz NOT NULL DEFAULT now()
                );
                """,
                new { key = AdvisoryKeys.Migrations(_schema) }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            int version = await connection.ExecuteScalarAsync<int>(new CommandDefinition(
                $"SELECT COALESCE(MAX(version), 0) FROM {schema}.modelmanager_migrations", transaction: transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            if (version > SchemaVersion)
            {
                throw new ModelManagerException(
                    $"The PostgreSQL schema '{_schema}' has version {version}, newer than the {SchemaVersion} this version of ModelManager.Lib.PostgreSql understands; upgrade the library.");
            }

            foreach (Migration migration in Migrations.Where(m => m.Version > version))
            {
                await connection.ExecuteAsync(new CommandDefinition(migration.Sql.Replace("{schema}", schema, StringComparison.Ordinal), transaction: transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
                await connection.ExecuteAsync(new CommandDefinition(
                    $"INSERT INTO {schema}.modelmanager_migrations (version, description) VALUES (@Version, @Description) ON CONFLICT (version) DO NOTHING",
                    new { migration.Version, migration.Description }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            if (version < SchemaVersion)
            {
                StoreLog.Migrated(_logger, _schema, version, SchemaVersion);
            }

            _initialized = true;
        }
        finally
        {
            _initGate.Release();
        }
    }

    private static string Quote(string identifier) => "\"" + identifier + "\""; // validated: [a-z0-9_] only

    private sealed record Migration(int Version, string Description, string Sql);

    /// <summary>Schema steps, each run once in order (and written to be harmless if run again).</summary>
    private static readonly Migration[] Migrations =
    [
        new(1, "samples and models; one active model per range", """
            CREATE TABLE IF NOT EXISTS {schema}.samples (
                id            bigint           GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                age           double precision NOT NULL CHECK (age >= 0 AND age <= 150),
                dimension     integer          NOT NULL CHECK (dimension > 0),
                embedding     bytea            NOT NULL CHECK (octet_length(embedding) = 4 * dimension),
                subject       text             NULL,
                label         text             NULL,
                created_ticks bigint           NOT NULL
            );
            CREATE INDEX IF NOT EXISTS ix_samples_age ON {schema}.samples (age);
            -- Float data does not compress: stored out of line without trying (saves the server's CPU on every insert).
            ALTER TABLE {schema}.samples ALTER COLUMN embedding SET STORAGE EXTERNAL;

            CREATE TABLE IF NOT EXISTS {schema}.models (
                seq                 bigint           GENERATED ALWAYS AS IDENTITY UNIQUE,
                id                  uuid             PRIMARY KEY,
                age_min             double precision NOT NULL,
                age_max             double precision NOT NULL,
                model_type          text             NOT NULL,
                embedding_dimension integer          NOT NULL CHECK (embedding_dimension > 0),
                parameters          text             NOT NULL,
                sample_count        integer          NOT NULL,
                threshold           double precision NOT NULL,
                created_ticks       bigint           NOT NULL,
                is_active           boolean          NOT NULL,
                checkpoint_path     text             NOT NULL,
                checkpoint_sha256   text             NOT NULL,
                CHECK (age_min <= age_max)
            );
            CREATE INDEX IF NOT EXISTS ix_models_order ON {schema}.models (age_min, created_ticks, seq);
            CREATE UNIQUE INDEX IF NOT EXISTS ux_models_one_active_per_range ON {schema}.models (age_min, age_max) WHERE is_active;
            """),
    ];

    private const string SampleColumns =
        "SELECT id AS Id, age AS Age, dimension AS Dimension, embedding AS Embedding, subject AS Subject, label AS Label, created_ticks AS CreatedTicks FROM samples";

    private const string ModelColumns =
        """
        SELECT seq, id, age_min, age_max, model_type, embedding_dimension, parameters, sample_count, threshold, created_ticks,
               is_active, checkpoint_path, checkpoint_sha256
        FROM models
        """;

    /// <summary>Model records, each converted on its own: a damaged row is skipped with a warning naming its row, or reported when one id was asked for.</summary>
    private async Task<List<ModelRecord>> ReadModelsAsync(NpgsqlConnection connection, string where, object? arguments, bool throwIfDamaged, CancellationToken cancellationToken)
    {
        var records = new List<ModelRecord>();
        using DbDataReader reader = await connection.ExecuteReaderAsync(new CommandDefinition(ModelColumns + where, arguments, cancellationToken: cancellationToken)).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            long rowId = reader.GetInt64(0);
            string? problem = TryReadModel(reader, out ModelRecord? record);
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

    /// <summary>The column types are the database's; what remains to check is what the library itself requires (finite threshold, a range, a checkpoint).</summary>
    private static string? TryReadModel(DbDataReader reader, out ModelRecord? record)
    {
        record = null;
        try
        {
            long ticks = reader.GetInt64(9);
            if (ticks < DateTime.MinValue.Ticks || ticks > DateTime.MaxValue.Ticks)
            {
                return string.Create(CultureInfo.InvariantCulture, $"created_ticks {ticks} is not a time");
            }

            var candidate = new ModelRecord
            {
                Id = reader.GetGuid(1),
                AgeMin = reader.GetDouble(2),
                AgeMax = reader.GetDouble(3),
                ModelType = reader.GetString(4),
                EmbeddingDimension = reader.GetInt32(5),
                ParametersJson = reader.GetString(6),
                SampleCount = reader.GetInt32(7),
                Threshold = reader.GetDouble(8),
                CreatedUtc = new DateTime(ticks, DateTimeKind.Utc),
                IsActive = reader.GetBoolean(10),
                CheckpointPath = reader.GetString(11),
                CheckpointSha256 = reader.GetString(12),
            };
            StoreValidation.Model(candidate);
            record = candidate;
            return null;
        }
        catch (Exception ex) when (ex is FormatException or InvalidCastException or ArgumentException)
        {
            return ex.Message;
        }
    }

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

        public SampleRecord ToRecord() => new(Id, Age, EmbeddingBlob.Decode(Embedding, Dimension), Subject, Label, new DateTime(CreatedTicks, DateTimeKind.Utc));
    }
#pragma warning restore CA1812, CA1819

    /// <summary>A held session advisory lock and the connection that holds it.</summary>
    private sealed class TrainingLock(NpgsqlConnection connection, long key, double ageMin, double ageMax, ILogger logger) : IAsyncDisposable
    {
        private int _released;

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _released, 1) != 0)
            {
                return;
            }

            try
            {
                await connection.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_unlock(@key)", new { key })).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or ObjectDisposedException)
            {
                StoreLog.UnlockFailed(logger, ageMin, ageMax, ex); // a broken connection has released the lock already
            }
            finally
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// One connection that LISTENs for the store's channel and tells the subscribers; reopened after
    /// a failure (telling subscribers once it listens again, since changes may have been missed).
    /// </summary>
#pragma warning disable CA1001 // its token source is disposed by StopAsync, which the store's disposal awaits
    private sealed class ChangeListener(PostgresModelStore owner)
#pragma warning restore CA1001
    {
        private static readonly TimeSpan s_idleCheck = TimeSpan.FromSeconds(30);
        private readonly Lock _gate = new();
        private readonly CancellationTokenSource _stopping = new();
        private readonly List<Action> _subscribers = [];
        private Task? _loop;

        public IDisposable Subscribe(Action onChanged, bool start)
        {
            lock (_gate)
            {
                _subscribers.Add(onChanged);
                if (start && _loop is null && !_stopping.IsCancellationRequested)
                {
                    _loop = ListenAsync(_stopping.Token);
                }
            }

            return new Subscription(this, onChanged);
        }

        public async Task StopAsync()
        {
            Task? loop;
            lock (_gate)
            {
                loop = _loop;
                _stopping.Cancel();
            }

            if (loop is not null)
            {
                await loop.ConfigureAwait(false); // never throws: the loop ends quietly when stopped
            }

            _stopping.Dispose();
        }

        private void Unsubscribe(Action onChanged)
        {
            lock (_gate)
            {
                _subscribers.Remove(onChanged);
            }
        }

        private void Raise()
        {
            Action[] subscribers;
            lock (_gate)
            {
                subscribers = [.. _subscribers];
            }

            foreach (Action subscriber in subscribers)
            {
                subscriber();
            }
        }

        private async Task ListenAsync(CancellationToken stopping)
        {
            await Task.Yield(); // the subscriber's thread returns at once
            TimeSpan delay = TimeSpan.FromMilliseconds(100);
            while (!stopping.IsCancellationRequested)
            {
                try
                {
                    using NpgsqlConnection connection = await owner.OpenAsync(stopping).ConfigureAwait(false);
                    connection.Notification += (_, e) =>
                    {
                        if (e.Payload == owner._schema)
                        {
                            Raise();
                        }
                    };
                    await connection.ExecuteAsync(new CommandDefinition("LISTEN " + Channel, cancellationToken: stopping)).ConfigureAwait(false);
                    StoreLog.Listening(owner._logger, Channel, owner._schema);
                    Raise(); // whatever changed while no connection listened
                    delay = TimeSpan.FromMilliseconds(100);
                    while (true)
                    {
                        // A quiet connection is probed now and then, so a dead one is noticed and replaced.
                        if (!await connection.WaitAsync(s_idleCheck, stopping).ConfigureAwait(false))
                        {
                            await connection.ExecuteAsync(new CommandDefinition("SELECT 1", cancellationToken: stopping)).ConfigureAwait(false);
                        }
                    }
                }
                catch (Exception) when (stopping.IsCancellationRequested)
                {
                    return;
                }
#pragma warning disable CA1031 // any failure of the listening connection is logged and the connection reopened
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    StoreLog.ListenerFailed(owner._logger, delay.TotalMilliseconds, ex);
                    try
                    {
                        await Task.Delay(delay, stopping).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }

                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
                }
            }
        }

        private sealed class Subscription(ChangeListener listener, Action onChanged) : IDisposable
        {
            private int _disposed;

            public void Dispose()
            {
                if (Interlocked.Exchange(ref _disposed, 1) == 0)
                {
                    listener.Unsubscribe(onChanged);
                }
            }
        }
    }
}
