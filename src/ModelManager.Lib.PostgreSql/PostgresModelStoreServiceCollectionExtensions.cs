using AgeGroupAnomaly.Storage;
using AgeGroupAnomaly.Storage.PostgreSql;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers a <see cref="PostgresModelStore"/> as the <see cref="IModelStore"/>.</summary>
/// <example>
/// <code>
/// services.AddPostgresModelStore(configuration.GetConnectionString("Models")!)
///         .AddModelManager(o => o.CheckpointDirectory = "/shared/checkpoints");
/// </code>
/// </example>
public static class PostgresModelStoreServiceCollectionExtensions
{
    /// <summary>Registers a singleton <see cref="PostgresModelStore"/> in the <c>public</c> schema as the <see cref="IModelStore"/>.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="connectionString">The Npgsql connection string.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddPostgresModelStore(this IServiceCollection services, string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return services.AddPostgresModelStore(o => o.ConnectionString = connectionString);
    }

    /// <summary>
    /// Registers a singleton <see cref="PostgresModelStore"/> as the <see cref="IModelStore"/> (a store
    /// registered before is kept). The options are validated when the store is first resolved.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the connection string, schema and listening.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddPostgresModelStore(this IServiceCollection services, Action<PostgresModelStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new PostgresModelStoreOptions();
        configure(options);
        options.Validate(); // a wrong connection string or schema fails at registration, not at the first request
        services.TryAddSingleton(provider => new PostgresModelStore(options, provider.GetService<ILogger<PostgresModelStore>>()));
        services.TryAddSingleton<IModelStore>(provider => provider.GetRequiredService<PostgresModelStore>());
        return services;
    }
}
