using AgeGroupAnomaly.Checkpoints;
using AgeGroupAnomaly.Storage;
using AgeGroupAnomaly.Storage.Sqlite;
using AgeGroupAnomaly.Training;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests.Telemetry;

public sealed class HealthCheckTests
{
    private const int Dimension = 8;
    private static readonly TrainingConfig Fast = TrainingConfig.Default with { HiddenSizes = [4, 2], Epochs = 2, BatchSize = 16 };

    private static async Task<(ServiceProvider Provider, AgeGroupTrainingResult Trained)> HostAsync(Action<IServiceCollection> addStore)
    {
        var services = new ServiceCollection();
        addStore(services);
        services.AddSingleton<ICheckpointStore>(new InMemoryCheckpointStore())
            .AddModelManager(o => o.DefaultTrainingConfig = Fast)
            .AddLogging()
            .AddHealthChecks().AddModelManager(tags: ["ready"]);
        ServiceProvider provider = services.BuildServiceProvider();
        await provider.GetRequiredService<IModelStore>().AddSamplesAsync([.. TestData.Embeddings(30, Dimension, 1).Select(r => new NewSample(4, r))]);
        AgeGroupTrainingResult trained = await provider.GetRequiredService<ModelManager>().TrainAgeGroupModelAsync(3, 5);
        return (provider, trained);
    }

    private static async Task<HealthReportEntry> CheckAsync(IServiceProvider provider)
    {
        HealthReport report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        return report.Entries["modelmanager"];
    }

    [Test]
    public async Task WhenTheStoreAnswersAndEveryActiveModelLoads_IsHealthy()
    {
        (ServiceProvider provider, _) = await HostAsync(s => s.AddInMemoryModelStore());
        await using (provider)
        {
            HealthReportEntry entry = await CheckAsync(provider);

            entry.Status.Should().Be(HealthStatus.Healthy);
            entry.Data["activeModels"].Should().Be(1);
            entry.Tags.Should().Contain("ready");
        }
    }

    [Test]
    public async Task WhenAnActiveModelFailsToLoad_IsUnhealthy_NamingTheModelAndTheReason()
    {
        (ServiceProvider provider, AgeGroupTrainingResult trained) = await HostAsync(s => s.AddInMemoryModelStore());
        await using (provider)
        {
            await provider.GetRequiredService<ICheckpointStore>().DeleteAsync(trained.ModelId, trained.Checkpoint.RelativePath);

            HealthReportEntry entry = await CheckAsync(provider);

            entry.Status.Should().Be(HealthStatus.Unhealthy);
            entry.Description.Should().Contain(trained.ModelId.ToString()).And.Contain("[3, 5]").And.Contain("MissingFile");
            entry.Exception.Should().BeOfType<ModelLoadingException>();
        }
    }

    [Test]
    public async Task WhenTheStoreCannotBeReached_IsUnhealthy_NamingTheStoresError()
    {
        string folder = TestEnvironment.CreateTempDirectory();
        try
        {
            var sqlite = new SqliteModelStore(Path.Combine(folder, "models.db"));
            (ServiceProvider provider, _) = await HostAsync(s => s.AddSingleton<IModelStore>(sqlite));
            await using (provider)
            {
                sqlite.Dispose(); // a store that no longer answers

                HealthReportEntry entry = await CheckAsync(provider);

                entry.Status.Should().Be(HealthStatus.Unhealthy);
                entry.Description.Should().StartWith("The model store cannot be reached");
                entry.Exception.Should().BeOfType<ObjectDisposedException>();
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
