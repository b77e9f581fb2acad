using AgeGroupAnomaly.Checkpoints;
using AgeGroupAnomaly.Checkpoints.S3;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="S3CheckpointStore"/> as the <see cref="ICheckpointStore"/> of <c>AddModelManager</c>.</summary>
/// <example>
/// <code>
/// services.AddSqliteModelStore("models.db")
///         .AddS3CheckpointStore(o =>
///         {
///             o.BucketName = "models";
///             o.ServiceUrl = new Uri("http://127.0.0.1:7480");
///             o.AccessKey = accessKey;
///             o.SecretKey = secretKey;
///         })
///         .AddModelManager();
/// </code>
/// </example>
public static class S3CheckpointStoreServiceCollectionExtensions
{
    /// <summary>
    /// Registers a singleton <see cref="S3CheckpointStore"/> (with its own client, disposed with the
    /// container) as the <see cref="ICheckpointStore"/>; the options are checked here, at registration.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets bucket, prefix, endpoint and credentials.</param>
    /// <returns>The service collection.</returns>
    /// <exception cref="ArgumentException">A setting is missing or invalid.</exception>
    public static IServiceCollection AddS3CheckpointStore(this IServiceCollection services, Action<S3CheckpointStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new S3CheckpointStoreOptions();
        configure(options);
        options.Validate();
        services.TryAddSingleton<ICheckpointStore>(_ => new S3CheckpointStore(options));
        return services;
    }

    /// <summary>
    /// Registers a singleton <see cref="S3CheckpointStore"/> as <see cref="AddS3CheckpointStore(IServiceCollection, Action{S3CheckpointStoreOptions})"/>
    /// does, with its options bound from a configuration section (for example
    /// <c>configuration.GetSection("Checkpoints:S3")</c> holding <c>BucketName</c>, <c>ServiceUrl</c>, …).
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The section holding the options.</param>
    /// <returns>The service collection.</returns>
    /// <exception cref="ArgumentException">A setting is missing or invalid.</exception>
    public static IServiceCollection AddS3CheckpointStore(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return services.AddS3CheckpointStore(options => configuration.Bind(options));
    }
}
