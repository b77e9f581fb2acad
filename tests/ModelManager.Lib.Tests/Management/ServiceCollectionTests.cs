using AgeGroupAnomaly.Checkpoints;
using AgeGroupAnomaly.Storage;
using AgeGroupAnomaly.Storage.Sqlite;
using FluentAssertions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests.Management;

[TestFixture]
public sealed class ServiceCollectionTests
{
    [Test]
    public async Task AddSqliteModelStore_AndAddModelManager_ResolveOneManagerThatUsesTheDatabase()
    {
        string directory = TestEnvironment.CreateTempDirectory();
        try
        {
            await using (ServiceProvider provider = new ServiceCollection()
                .AddSqliteModelStore(Path.Combine(directory, "m.db"))
                .AddModelManager(o => o.CheckpointDirectory = Path.Combine(directory, "ck"))
                .BuildServiceProvider())
            {
                ModelManager manager = provider.GetRequiredService<ModelManager>();
                manager.Should().BeSameAs(provider.GetRequiredService<ModelManager>());
                provider.GetRequiredService<IModelStore>().Should().BeOfType<SqliteModelStore>();
                await TrainOneAsync(provider.GetRequiredService<IModelStore>(), manager);
            }

            File.Exists(Path.Combine(directory, "m.db")).Should().BeTrue();
            Directory.GetFiles(Path.Combine(directory, "ck")).Should().ContainSingle("the model's checkpoint went to the configured folder");
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    [Test]
    public async Task AddInMemoryModelStore_GivesAManagerThatTouchesNoFile()
    {
        string before = Directory.GetCurrentDirectory();
        await using ServiceProvider provider = new ServiceCollection()
            .AddInMemoryModelStore()
            .AddModelManager()
            .BuildServiceProvider();
        ModelManager manager = provider.GetRequiredService<ModelManager>();

        await TrainOneAsync(provider.GetRequiredService<IModelStore>(), manager);

        provider.GetRequiredService<ICheckpointStore>().Should().BeOfType<InMemoryCheckpointStore>().Which.Count.Should().Be(1);
        provider.GetRequiredService<IOptions<ModelManagerOptions>>().Value.CheckpointDirectory.Should().BeNull();
        Directory.GetCurrentDirectory().Should().Be(before);
    }

    [Test]
    public async Task AddModelManager_KeepsAStoreRegisteredBefore()
    {
        var store = new InMemoryModelStore();
        var checkpoints = new InMemoryCheckpointStore();
        await using ServiceProvider provider = new ServiceCollection()
            .AddSingleton<IModelStore>(store)
            .AddSingleton<ICheckpointStore>(checkpoints)
            .AddInMemoryModelStore()
            .AddModelManager()
            .BuildServiceProvider();

        await TrainOneAsync(store, provider.GetRequiredService<ModelManager>());

        (await store.ListModelsAsync()).Should().ContainSingle();
        checkpoints.Count.Should().Be(1);
    }

    [Test]
    public void AddModelManager_WithInvalidOptions_FailsValidationNamingTheSetting()
    {
        using ServiceProvider provider = new ServiceCollection()
            .AddInMemoryModelStore()
            .AddModelManager(o => o.CacheCapacity = 0)
            .BuildServiceProvider();

        FluentActions.Invoking(() => provider.GetRequiredService<IOptions<ModelManagerOptions>>().Value)
            .Should().Throw<OptionsValidationException>().WithMessage("*CacheCapacity is 0*");
    }

    [Test]
    public void AddModelManager_WithNoCheckpointFolderAndNoCheckpointStore_FailsValidation()
    {
        using ServiceProvider provider = new ServiceCollection()
            .AddSingleton<IModelStore>(new InMemoryModelStore())
            .AddModelManager()
            .BuildServiceProvider();

        FluentActions.Invoking(() => provider.GetRequiredService<ModelManager>())
            .Should().Throw<OptionsValidationException>().WithMessage("*CheckpointDirectory*ICheckpointStore*");
    }

    [Test]
    public async Task AHostThatStops_CancelsTheTrainingInProgress_AndNothingIsStored()
    {
        string directory = TestEnvironment.CreateTempDirectory();
        try
        {
            HostApplicationBuilder builder = Host.CreateApplicationBuilder();
            builder.Services.AddSqliteModelStore(Path.Combine(directory, "m.db")).AddModelManager(o => o.CheckpointDirectory = Path.Combine(directory, "ck"));
            using IHost host = builder.Build();
            await host.StartAsync();
            ModelManager manager = host.Services.GetRequiredService<ModelManager>();
            IModelStore store = host.Services.GetRequiredService<IModelStore>();
            await store.AddSamplesAsync([.. TestData.Embeddings(40, 6, seed: 1).Select(r => new NewSample(4, r))]);
            using var firstEpoch = new ManualResetEventSlim();
            using var hostStopping = new ManualResetEventSlim();

            // A training long enough that it is surely running when the host stops: it waits in its first epoch's report until then.
            Task training = manager.TrainAgeGroupModelAsync(4, 4, new AgeGroupAnomaly.Training.TrainingConfig { HiddenSizes = [4, 2], Epochs = 100_000, EarlyStoppingPatience = 100_000 }, new WaitingProgress(firstEpoch, hostStopping));
            firstEpoch.Wait(TimeSpan.FromMinutes(5)).Should().BeTrue("the training reports its first epoch"); // a liveness guard, not a timing assertion
            Task stop = host.StopAsync();
            hostStopping.Set();

            await FluentActions.Awaiting(() => training).Should().ThrowAsync<OperationCanceledException>();
            await stop;
            (await store.ListModelsAsync()).Should().BeEmpty("a cancelled training records nothing");
            Directory.GetFiles(Path.Combine(directory, "ck")).Should().BeEmpty("and leaves no checkpoint file");
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    [Test]
    public void AddModelManager_FromAppSettingsJson_BindsEveryOption()
    {
        const string Json = """
            {
              "ModelManager": {
                "CheckpointDirectory": "ck-from-json",
                "CacheCapacity": 7,
                "ActiveModelsRefreshInterval": "00:00:05",
                "SplitSingleScoresAcrossCores": false,
                "CompactScoringWeights": true,
                "MaxConcurrentTrainings": 2,
                "AllowOverlappingRanges": true,
                "ExplainTopFeatures": 5,
                "Segments": [ { "Name": "visual", "Start": 0, "Length": 768 }, { "Name": "subject", "Start": 768, "Length": 64 } ],
                "DefaultTrainingConfig": {
                  "HiddenSizes": [ 64, 32 ],
                  "LearningRate": 0.002,
                  "BatchSize": 16,
                  "Epochs": 50,
                  "ValidationSplit": 0.25,
                  "EarlyStoppingPatience": 7,
                  "MinDelta": 0.001,
                  "RelativeMinDelta": false,
                  "Standardize": false,
                  "Device": "cpu",
                  "Dropout": 0.05,
                  "Seed": 9,
                  "ThresholdPercentile": 99,
                  "ThresholdCalibration": "TrainingAndValidationRows",
                  "CpuThreads": 1
                }
              }
            }
            """;
        IConfiguration configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(Json))).Build();
        using ServiceProvider provider = new ServiceCollection()
            .AddInMemoryModelStore()
            .AddModelManager(configuration.GetSection("ModelManager"))
            .BuildServiceProvider();

        ModelManagerOptions options = provider.GetRequiredService<IOptions<ModelManagerOptions>>().Value;

        options.CheckpointDirectory.Should().Be("ck-from-json");
        options.CacheCapacity.Should().Be(7);
        options.ActiveModelsRefreshInterval.Should().Be(TimeSpan.FromSeconds(5));
        options.SplitSingleScoresAcrossCores.Should().BeFalse("the configuration turns the default (true) off");
        options.CompactScoringWeights.Should().BeTrue();
        options.MaxConcurrentTrainings.Should().Be(2);
        options.AllowOverlappingRanges.Should().BeTrue();
        options.ExplainTopFeatures.Should().Be(5);
        options.Segments.Should().Equal(new EmbeddingSegment("visual", 0, 768), new EmbeddingSegment("subject", 768, 64));
        options.DefaultTrainingConfig.Should().Be(new AgeGroupAnomaly.Training.TrainingConfig
        {
            HiddenSizes = [64, 32], LearningRate = 0.002, BatchSize = 16, Epochs = 50, ValidationSplit = 0.25, EarlyStoppingPatience = 7,
            MinDelta = 0.001, RelativeMinDelta = false, Standardize = false, Device = "cpu", Dropout = 0.05, Seed = 9, ThresholdPercentile = 99, CpuThreads = 1,
            ThresholdCalibration = AgeGroupAnomaly.Training.ThresholdCalibration.TrainingAndValidationRows,
        });
        AgeGroupAnomaly.Training.TrainingConfig.Default.HiddenSizes.Should().BeEmpty("binding never changes the shared defaults (automatic hidden sizes)");
        AgeGroupAnomaly.Training.TrainingConfig.Default.Standardize.Should().BeTrue("binding never changes the shared defaults");
        typeof(AgeGroupAnomaly.Training.TrainingConfig).GetProperties().Where(p => p.CanWrite).Select(p => p.Name).Should().BeSubsetOf(
            ["HiddenSizes", "LearningRate", "BatchSize", "Epochs", "ValidationSplit", "EarlyStoppingPatience", "MinDelta", "RelativeMinDelta", "Standardize", "Device", "Dropout", "Seed", "ThresholdPercentile", "ThresholdCalibration", "CpuThreads"],
            "a new training field must be added to this test's JSON");
        typeof(ModelManagerOptions).GetProperties().Select(p => p.Name).Should().BeSubsetOf(
            ["CheckpointDirectory", "CacheCapacity", "ActiveModelsRefreshInterval", "SplitSingleScoresAcrossCores", "CompactScoringWeights", "MaxConcurrentTrainings", "AllowOverlappingRanges", "ExplainTopFeatures", "Segments", "DefaultTrainingConfig"],
            "a new option must be added to this test's JSON");
    }

    [Test]
    public void TheBindableShapeOfTrainingConfig_HasEveryTrainingConfigSetting()
    {
        Type bindable = typeof(ModelManagerServiceCollectionExtensions).GetNestedType("BindableTrainingConfig", System.Reflection.BindingFlags.NonPublic)!;
        string[] settings = [.. typeof(AgeGroupAnomaly.Training.TrainingConfig).GetProperties().Where(p => p.CanWrite && p.Name != "EqualityContract").Select(p => p.Name)];

        bindable.GetProperties().Select(p => p.Name).Should().BeEquivalentTo(settings, "a TrainingConfig setting missing there could not be set from configuration");
    }

    [Test]
    public void AddModelManager_FromConfigurationWithAMisspeltTrainingField_FailsNamingIt()
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["M:CheckpointDirectory"] = "ck",
            ["M:DefaultTrainingConfig:HiddenSize:0"] = "8",
        }).Build();
        using ServiceProvider provider = new ServiceCollection().AddInMemoryModelStore().AddModelManager(configuration.GetSection("M")).BuildServiceProvider();

        FluentActions.Invoking(() => provider.GetRequiredService<IOptions<ModelManagerOptions>>().Value)
            .Should().Throw<InvalidOperationException>().WithMessage("*HiddenSize*");
    }

    [Test]
    public void AddModelManager_FromConfigurationWithAnInvalidValue_FailsValidationNamingTheField()
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["M:CheckpointDirectory"] = "ck",
            ["M:DefaultTrainingConfig:HiddenSizes:0"] = "0",
        }).Build();
        using ServiceProvider provider = new ServiceCollection().AddInMemoryModelStore().AddModelManager(configuration.GetSection("M")).BuildServiceProvider();

        FluentActions.Invoking(() => provider.GetRequiredService<IOptions<ModelManagerOptions>>().Value)
            .Should().Throw<OptionsValidationException>().WithMessage("*HiddenSizes[0] is 0*");
    }

    private static async Task TrainOneAsync(IModelStore store, ModelManager manager)
    {
        await store.AddSamplesAsync([.. TestData.Embeddings(20, 6, seed: 1).Select(r => new NewSample(4, r))]);
        await manager.TrainAgeGroupModelAsync(4, 4, new AgeGroupAnomaly.Training.TrainingConfig { HiddenSizes = [4, 2], Epochs = 2 });
        (await manager.ScoreAsync(TestData.Embeddings(1, 6, seed: 2)[0], 4)).ReconstructionLoss.Should().BeGreaterThan(0);
    }

    /// <summary>Signals the first epoch, then holds the training until the host is stopping.</summary>
    private sealed class WaitingProgress(ManualResetEventSlim firstEpoch, ManualResetEventSlim release) : IProgress<AgeGroupAnomaly.Training.EpochRecord>
    {
        public void Report(AgeGroupAnomaly.Training.EpochRecord value)
        {
            firstEpoch.Set();
            release.Wait(CancellationToken.None);
        }
    }
}
