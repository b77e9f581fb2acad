using AgeGroupAnomaly;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the <see cref="ModelManagerHealthCheck"/>.</summary>
public static class ModelManagerHealthChecksBuilderExtensions
{
    /// <summary>
    /// Adds a health check of the registered <see cref="AgeGroupAnomaly.ModelManager"/>: unhealthy
    /// (or <paramref name="failureStatus"/>) when its store cannot be reached or an active model fails to load.
    /// </summary>
    /// <param name="builder">The health checks builder (<c>services.AddHealthChecks()</c>).</param>
    /// <param name="name">The check's name.</param>
    /// <param name="failureStatus">The status reported on failure; null for <see cref="HealthStatus.Unhealthy"/>.</param>
    /// <param name="tags">Tags to filter checks by (for example "ready").</param>
    /// <returns>The builder.</returns>
    public static IHealthChecksBuilder AddModelManager(this IHealthChecksBuilder builder, string name = "modelmanager", HealthStatus? failureStatus = null, IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Add(new HealthCheckRegistration(
            name,
            provider => new ModelManagerHealthCheck(provider.GetRequiredService<AgeGroupAnomaly.ModelManager>()),
            failureStatus,
            tags));
    }
}
