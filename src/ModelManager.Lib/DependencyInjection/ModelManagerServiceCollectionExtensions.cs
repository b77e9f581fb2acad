using AgeGroupAnomaly;
using AgeGroupAnomaly.Checkpoints;
using AgeGroupAnomaly.Storage;
using AgeGroupAnomaly.Storage.Sqlite;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Registers <see cref="ModelManager"/> and its stores in a service collection, the
/// Microsoft.Extensions way. Optional: the library works without DI.
/// </summary>
/// <example>
/// <code>
/// services.AddSqliteModelStore("models.db")
///         .AddModelManager(o => o.CheckpointDirectory = "checkpoints");
/// </code>
/// </example>
public static class ModelManagerServiceCollectionExtensions
{
    /// <summary>
    /// Registers a singleton <see cref="ModelManager"/> over the registered <see cref="IModelStore"/>
    /// (and <see cref="ICheckpointStore"/>, when one is registered), with
    /// <see cref="IOptions{ModelManagerOptions}"/> validated when the host starts. In a host,
    /// trainings are cancelled when the application starts stopping
    /// (<see cref="IHostApplicationLifetime.ApplicationStopping"/>).
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the options; null to take them from elsewhere (for example configuration binding).</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddModelManager(this IServiceCollection services, Action<ModelManagerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        OptionsBuilder<ModelManagerOptions> options = services.AddOptions<ModelManagerOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ModelManagerOptions>, ModelManagerOptionsValidator>());
        services.TryAddSingleton(provider =>
        {
            var manager = new ModelManager(
                provider.GetRequiredService<IModelStore>(),
                provider.GetRequiredService<IOptions<ModelManagerOptions>>().Value,
                provider.GetService<ILoggerFactory>(),
                provider.GetService<ICheckpointStore>());

            // In a host, trainings stop when the app starts stopping: a shutdown never waits for one.
            provider.GetService<IHostApplicationLifetime>()?.ApplicationStopping.Register(manager.CancelTrainings);
            return manager;
        });
        return services;
    }

    /// <summary>Registers a singleton <see cref="SqliteModelStore"/> as the <see cref="IModelStore"/>.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="databasePath">The SQLite file (or a connection string).</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddSqliteModelStore(this IServiceCollection services, string databasePath)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(databasePath);
        services.TryAddSingleton<IModelStore>(_ => new SqliteModelStore(databasePath));
        return services;
    }

    /// <summary>
    /// Registers an <see cref="InMemoryModelStore"/> and an <see cref="InMemoryCheckpointStore"/>:
    /// a manager that touches no file, for an app's own tests.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddInMemoryModelStore(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton<IModelStore, InMemoryModelStore>();
        services.TryAddSingleton<ICheckpointStore, InMemoryCheckpointStore>();
        return services;
    }

    /// <summary>Runs <see cref="ModelManagerOptions.Validate"/> (and the checkpoint rule) as options validation.</summary>
    private sealed class ModelManagerOptionsValidator(IServiceProvider provider) : IValidateOptions<ModelManagerOptions>
    {
        public ValidateOptionsResult Validate(string? name, ModelManagerOptions options)
        {
            try
            {
                options.Validate();
            }
            catch (ArgumentException ex)
            {
                return ValidateOptionsResult.Fail(ex.Message);
            }

            return provider.GetService<ICheckpointStore>() is null && string.IsNullOrWhiteSpace(options.CheckpointDirectory)
                ? ValidateOptionsResult.Fail("CheckpointDirectory is empty; give the folder for checkpoint files, or register an ICheckpointStore.")
                : ValidateOptionsResult.Success;
        }
    }
}
