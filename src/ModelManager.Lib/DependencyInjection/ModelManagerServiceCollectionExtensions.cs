using AgeGroupAnomaly;
using AgeGroupAnomaly.Storage;
using AgeGroupAnomaly.Storage.Sqlite;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="ModelManager"/> in a service collection. Optional: the library works without DI.</summary>
public static class ModelManagerServiceCollectionExtensions
{
    /// <summary>
    /// Registers a singleton <see cref="ModelManager"/> over a singleton <see cref="SqliteModelStore"/> at
    /// <paramref name="databasePath"/>, unless an <see cref="IModelStore"/> is already registered.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="databasePath">The SQLite file (or connection string).</param>
    /// <param name="options">Manager options.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddModelManager(this IServiceCollection services, string databasePath, ModelManagerOptions options)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(databasePath);
        services.TryAddSingleton<IModelStore>(_ => new SqliteModelStore(databasePath));
        return services.AddModelManager(options);
    }

    /// <summary>Registers a singleton <see cref="ModelManager"/> over the <see cref="IModelStore"/> already registered.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="options">Manager options (validated now).</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddModelManager(this IServiceCollection services, ModelManagerOptions options)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        services.TryAddSingleton(options);
        services.TryAddSingleton(provider => new ModelManager(
            provider.GetRequiredService<IModelStore>(),
            provider.GetRequiredService<ModelManagerOptions>(),
            provider.GetService<ILoggerFactory>()));
        return services;
    }
}
