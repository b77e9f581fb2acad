using System.Collections.Immutable;
using AgeGroupAnomaly.Scoring;
using AgeGroupAnomaly.Storage;

namespace AgeGroupAnomaly.Management;

/// <summary>
/// Finds the loaded model to score with: by age through the active-model routing, or by id, loading
/// through the cache. The fast paths complete synchronously and allocate nothing.
/// </summary>
internal sealed class ModelResolver(ActiveModelRouter router, ModelCache cache, Func<Guid, Task<LoadedModel>> load)
{
    public int CachedCount => cache.Count;

    public ValueTask<LoadedModel> ForAgeAsync(double age, CancellationToken cancellationToken)
    {
        ValueTask<ModelRecord?> route = router.ForAgeAsync(age, cancellationToken);
        if (route.IsCompletedSuccessfully)
        {
            ModelRecord record = route.Result ?? throw new NoModelForAgeException(age);
            return cache.GetOrLoadAsync(record.Id, load, cancellationToken);
        }

        return ForAgeSlowAsync(age, cancellationToken);
    }

    public ValueTask<LoadedModel> ByIdAsync(Guid id, CancellationToken cancellationToken) => cache.GetOrLoadAsync(id, load, cancellationToken);

    public async Task<IReadOnlyList<LoadedModel>> ActiveAsync(CancellationToken cancellationToken)
    {
        ImmutableArray<ModelRecord> active = await router.ActiveAsync(cancellationToken).ConfigureAwait(false);
        var models = new List<LoadedModel>(active.Length);
        foreach (ModelRecord record in active)
        {
            models.Add(await ByIdAsync(record.Id, cancellationToken).ConfigureAwait(false));
        }

        return models;
    }

    /// <summary>The loaded model for each group of rows; runs of one age (the common batch) are routed once.</summary>
    public async Task<IEnumerable<(LoadedModel Model, List<int> Rows)>> RouteAsync(IReadOnlyList<double> ages, CancellationToken cancellationToken)
    {
        var byModel = new Dictionary<Guid, (LoadedModel Model, List<int> Rows)>();
        double previousAge = double.NaN;
        List<int>? previousRows = null;
        for (int i = 0; i < ages.Count; i++)
        {
            StoreValidation.Age(ages[i], nameof(ages), $"Row {i}: ");
            if (ages[i].Equals(previousAge))
            {
                previousRows!.Add(i);
                continue;
            }

            LoadedModel model = await ForAgeAsync(ages[i], cancellationToken).ConfigureAwait(false);
            if (!byModel.TryGetValue(model.Record.Id, out var group))
            {
                group = (model, []);
                byModel[model.Record.Id] = group;
            }

            group.Rows.Add(i);
            previousAge = ages[i];
            previousRows = group.Rows;
        }

        return byModel.Values;
    }

    /// <summary>The models changed in the store: route from a fresh list next time.</summary>
    public void Invalidate() => router.Invalidate();

    public void Evict(Guid id) => cache.Remove(id);

    public void Clear()
    {
        cache.Clear();
        router.Invalidate();
    }

    private async ValueTask<LoadedModel> ForAgeSlowAsync(double age, CancellationToken cancellationToken)
    {
        ModelRecord record = await router.ForAgeAsync(age, cancellationToken).ConfigureAwait(false) ?? throw new NoModelForAgeException(age);
        return await cache.GetOrLoadAsync(record.Id, load, cancellationToken).ConfigureAwait(false);
    }
}
