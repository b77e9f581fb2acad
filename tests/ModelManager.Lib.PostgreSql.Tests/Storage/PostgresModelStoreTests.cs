using AgeGroupAnomaly.Storage;
using AgeGroupAnomaly.Storage.PostgreSql;
using AgeGroupAnomaly.Tests.Storage;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests.PostgreSql.Storage;

/// <summary>What the PostgreSQL store adds to the contract: schema, database-enforced rules, locks and notifications.</summary>
[TestFixture]
public sealed class PostgresModelStoreTests
{
    /// <summary>Liveness guard only: a wait for something that must happen fails after this instead of hanging.</summary>
    private static readonly TimeSpan s_guard = TimeSpan.FromSeconds(60);

    private string _schema = null!;
    private readonly List<PostgresModelStore> _stores = [];

    [SetUp]
    public void NewSchema()
    {
        _ = PostgresTestDatabase.ConnectionString; // ignored without a server
        _schema = PostgresTestDatabase.NewSchemaName();
    }

    [TearDown]
    public async Task DropSchema()
    {
        foreach (PostgresModelStore store in _stores)
        {
            await store.DisposeAsync();
        }

        _stores.Clear();
        await PostgresTestDatabase.DropSchemaAsync(_schema);
    }

    private PostgresModelStore NewStore(bool listen = true)
    {
        PostgresModelStore store = PostgresTestDatabase.Store(_schema, listen);
        _stores.Add(store);
        return store;
    }

    [Test]
    public async Task Migrations_RunByManyInstancesAtOnce_CreateTheSchemaOnce()
    {
        PostgresModelStore[] stores = [.. Enumerable.Range(0, 4).Select(_ => NewStore())];

        await Task.WhenAll(stores.Select(s => s.ListModelsAsync()));
        await NewStore().CountSamplesAsync(0, 150); // and again later

        (await PostgresTestDatabase.ScalarAsync<long>($"SELECT COUNT(*) FROM \"{_schema}\".modelmanager_migrations")).Should().Be(PostgresModelStore.SchemaVersion);
        (await PostgresTestDatabase.ScalarAsync<int>($"SELECT MAX(version) FROM \"{_schema}\".modelmanager_migrations")).Should().Be(PostgresModelStore.SchemaVersion);
    }

    [Test]
    public async Task ASchemaNewerThanTheLibrary_IsRefusedNamingBothVersions()
    {
        await NewStore().ListModelsAsync();
        await PostgresTestDatabase.ExecuteAsync($"INSERT INTO \"{_schema}\".modelmanager_migrations (version, description) VALUES (99, 'future')");

        await FluentActions.Awaiting(() => NewStore().ListModelsAsync())
            .Should().ThrowAsync<ModelManagerException>().WithMessage($"*'{_schema}' has version 99, newer than the 1*");
    }

    [Test]
    public async Task TheDatabaseItself_RefusesASecondActiveModelForOneRange()
    {
        PostgresModelStore store = NewStore();
        await store.AddModelAsync(ModelStoreContractTests.Model(3, 5));
        ModelRecord other = ModelStoreContractTests.Model(3, 5);

        // Written past the store, as another tool might: the partial unique index still refuses it.
        Func<Task> insert = () => PostgresTestDatabase.ExecuteAsync(
            $"""
            INSERT INTO "{_schema}".models (id, age_min, age_max, model_type, embedding_dimension, parameters, sample_count, threshold, created_ticks, is_active, checkpoint_path, checkpoint_sha256)
            VALUES ('{other.Id}', 3, 5, 'autoencoder', 4, '{"{"}{"}"}', 10, 0.5, 0, true, 'x', 'y')
            """);

        (await insert.Should().ThrowAsync<PostgresException>()).Which.SqlState.Should().Be(PostgresErrorCodes.UniqueViolation);
    }

    [Test]
    public async Task ConcurrentActivationsAndRetrainingsOfOneRange_LeaveExactlyOneActiveModel()
    {
        PostgresModelStore a = NewStore(), b = NewStore();
        ModelRecord[] versions = [.. Enumerable.Range(0, 6).Select(_ => ModelStoreContractTests.Model(3, 5, active: false))];
        foreach (ModelRecord version in versions)
        {
            await a.AddModelAsync(version);
        }

        var work = new List<Task>();
        for (int round = 0; round < 20; round++)
        {
            work.Add(a.ActivateModelAsync(versions[round % versions.Length].Id));
            work.Add(b.ActivateModelAsync(versions[(round + 3) % versions.Length].Id));
            work.Add((round % 2 == 0 ? a : b).AddModelAsync(ModelStoreContractTests.Model(3, 5)));
        }

        await Task.WhenAll(work);

        (await a.FindActiveModelsAsync(4)).Should().ContainSingle();
    }

    [Test]
    public async Task Embeddings_AreStoredAsFloat32Bytes_AndAWrongLengthIsRefusedByTheDatabase()
    {
        PostgresModelStore store = NewStore();
        long id = await store.AddSampleAsync(new NewSample(5, [1f, 2f, 3f, 4f]));

        (await PostgresTestDatabase.ScalarAsync<int>($"SELECT octet_length(embedding) FROM \"{_schema}\".samples WHERE id = {id}")).Should().Be(16);
        Func<Task> wrong = () => PostgresTestDatabase.ExecuteAsync($"INSERT INTO \"{_schema}\".samples (age, dimension, embedding, created_ticks) VALUES (5, 4, '\\x00'::bytea, 0)");
        (await wrong.Should().ThrowAsync<PostgresException>()).Which.SqlState.Should().Be(PostgresErrorCodes.CheckViolation);
    }

    [Test]
    public async Task TrainingLock_IsHeldAgainstOtherInstances_UntilReleased()
    {
        PostgresModelStore a = NewStore(), b = NewStore();

        IAsyncDisposable? held = await a.TryAcquireTrainingLockAsync(3, 5);
        held.Should().NotBeNull();
        (await b.TryAcquireTrainingLockAsync(3, 5)).Should().BeNull("another instance holds it");
        IAsyncDisposable? otherRange = await b.TryAcquireTrainingLockAsync(6, 8);
        otherRange.Should().NotBeNull("ranges are locked separately");

        await held!.DisposeAsync();
        IAsyncDisposable? after = await b.TryAcquireTrainingLockAsync(3, 5);
        after.Should().NotBeNull("it was released");
        await after!.DisposeAsync();
        await otherRange!.DisposeAsync();
    }

    [Test]
    public async Task TrainingLock_OfAConnectionThatDies_IsReleasedByTheServer()
    {
        PostgresModelStore a = NewStore(), b = NewStore();
        IAsyncDisposable? held = await a.TryAcquireTrainingLockAsync(3, 5);
        held.Should().NotBeNull();

        // As when the holding process dies: its connection ends, and the server drops its locks.
        long key = AdvisoryKeys.Training(_schema, 3, 5);
        int terminated = await PostgresTestDatabase.ScalarAsync<int>(
            $"SELECT COUNT(pg_terminate_backend(pid))::int FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = {(uint)(key >> 32)} AND objid = {(uint)key}");
        terminated.Should().BeGreaterThan(0);

        IAsyncDisposable? taken = null;
        using var guard = new CancellationTokenSource(s_guard);
        while (taken is null)
        {
            guard.Token.ThrowIfCancellationRequested();
            taken = await b.TryAcquireTrainingLockAsync(3, 5); // the server notices the ended session at once; this only waits for its cleanup
        }

        await taken.DisposeAsync();
        await held!.DisposeAsync(); // its connection is gone: logged, not thrown
    }

    [Test]
    public async Task WaitingForATrainingLock_IsCancelledInTheServerByTheToken()
    {
        PostgresModelStore a = NewStore(), b = NewStore();
        IAsyncDisposable? held = await a.TryAcquireTrainingLockAsync(3, 5);
        using var cancel = new CancellationTokenSource();

        Task<IAsyncDisposable> waiting = b.AcquireTrainingLockAsync(3, 5, cancel.Token);
        await cancel.CancelAsync();

        await FluentActions.Awaiting(() => waiting).Should().ThrowAsync<OperationCanceledException>();
        await held!.DisposeAsync();
        IAsyncDisposable now = await b.AcquireTrainingLockAsync(3, 5);
        await now.DisposeAsync();
    }

    [Test]
    public async Task ModelChanges_ByOneInstance_AreNotifiedToAnother_OnlyWhenCommitted()
    {
        PostgresModelStore writer = NewStore(), reader = NewStore();
        await writer.ListModelsAsync();
        var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int calls = 0;
        using IDisposable subscription = reader.SubscribeToModelChanges(() =>
        {
            // The first call comes when the listening connection starts (whatever changed before it listened).
            if (Interlocked.Increment(ref calls) == 1)
            {
                listening.TrySetResult();
            }
            else
            {
                changed.TrySetResult();
            }
        });
        await listening.Task.WaitAsync(s_guard);
        changed.Task.IsCompleted.Should().BeFalse("nothing changed yet");

        ModelRecord model = ModelStoreContractTests.Model(3, 5);
        await writer.AddModelAsync(model);

        await changed.Task.WaitAsync(s_guard);
    }

    [Test]
    public async Task AStoreDisposedWhileListening_StopsItsListener_AndRefusesCalls()
    {
        PostgresModelStore store = PostgresTestDatabase.Store(_schema);
        var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using IDisposable subscription = store.SubscribeToModelChanges(() => listening.TrySetResult());
        await listening.Task.WaitAsync(s_guard);

        await store.DisposeAsync();

        await FluentActions.Awaiting(() => store.ListModelsAsync()).Should().ThrowAsync<ObjectDisposedException>();
        FluentActions.Invoking(() => store.SubscribeToModelChanges(() => { })).Should().Throw<ObjectDisposedException>();
    }

    [TestCase("")]
    [TestCase("Public")]
    [TestCase("a;drop table x")]
    public void Options_WithAnUnusableSchema_AreRefusedNamingIt(string schema)
    {
        FluentActions.Invoking(() => new PostgresModelStore(new PostgresModelStoreOptions { ConnectionString = "Host=x", Schema = schema }))
            .Should().Throw<ArgumentException>().WithMessage($"*Schema '{schema}'*");
    }

    [Test]
    public async Task AddPostgresModelStore_RegistersTheStoreForTheManager()
    {
        string checkpoints = Path.Combine(Path.GetTempPath(), "mmlib-tests", Guid.NewGuid().ToString("N"));
        var services = new ServiceCollection()
            .AddPostgresModelStore(o => { o.ConnectionString = PostgresTestDatabase.ConnectionString; o.Schema = _schema; })
            .AddModelManager(o => o.CheckpointDirectory = checkpoints);

        await using (ServiceProvider provider = services.BuildServiceProvider())
        {
            provider.GetRequiredService<IModelStore>().Should().BeSameAs(provider.GetRequiredService<PostgresModelStore>());
            (await provider.GetRequiredService<ModelManager>().ListModelsAsync()).Should().BeEmpty();
        }

        FluentActions.Invoking(() => new ServiceCollection().AddPostgresModelStore(o => o.ConnectionString = ""))
            .Should().Throw<ArgumentException>().WithMessage("*ConnectionString*");
    }
}
