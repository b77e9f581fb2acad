using System.Globalization;
using AgeGroupAnomaly.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AgeGroupAnomaly;

/// <summary>
/// Healthy when the store answers and every active model loads (through the manager's cache, so a
/// warm service loads nothing); unhealthy naming the store's error or each model that fails to load
/// and why. Register with <c>services.AddHealthChecks().AddModelManager()</c>.
/// </summary>
/// <param name="manager">The manager whose store and models are checked.</param>
public sealed class ModelManagerHealthCheck(ModelManager manager) : IHealthCheck
{
    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        IReadOnlyList<ModelRecord> models;
        try
        {
            models = await manager.Store.ListModelsAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, $"The model store cannot be reached: {ex.Message}", ex);
        }

        ModelRecord[] active = [.. models.Where(m => m.IsActive)];
        var failures = new List<string>();
        Exception? first = null;
        foreach (ModelRecord model in active)
        {
            try
            {
                _ = await manager.LoadForScoringAsync(model.Id, cancellationToken).ConfigureAwait(false);
            }
            catch (ModelLoadingException ex)
            {
                first ??= ex;
                failures.Add(string.Create(CultureInfo.InvariantCulture, $"model {model.Id} for ages [{model.AgeMin}, {model.AgeMax}]: {ex.Reason}"));
            }
        }

        var data = new Dictionary<string, object>
        {
            ["activeModels"] = active.Length,
            ["failedModels"] = failures.Count,
        };
        return failures.Count == 0
            ? HealthCheckResult.Healthy(string.Create(CultureInfo.InvariantCulture, $"The store answers; {active.Length} active models load."), data)
            : new HealthCheckResult(context.Registration.FailureStatus, $"{failures.Count} of {active.Length} active models fail to load: {string.Join("; ", failures)}", first, data);
    }
}
