namespace AgeGroupAnomaly.Storage;

/// <summary>
/// A thread-safe <see cref="IModelStore"/> held in memory: real shipped code with the same
/// contract as the SQLite store, for tests of your own code and for small tools. Arrays are
/// copied in and out, so callers cannot change stored data by accident.
/// </summary>
public sealed class InMemoryModelStore : IModelStore
{
    private readonly Lock _gate = new();
    private readonly List<SampleRecord> _samples = [];
    private readonly List<ModelRecord> _models = [];
    private long _nextSampleId = 1;

    /// <inheritdoc />
    public Task<long> AddSampleAsync(NewSample sample, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        StoreValidation.Sample(sample);
        lock (_gate)
        {
            StoreValidation.SameDimension([sample], StoredDimensionUnlocked());
            return Task.FromResult(AddUnlocked(sample, DateTime.UtcNow));
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<long>> AddSamplesAsync(IReadOnlyList<NewSample> samples, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(samples);
        cancellationToken.ThrowIfCancellationRequested();
        StoreValidation.Samples(samples); // all checked before any is added: all or none

        lock (_gate)
        {
            if (samples.Count > 0)
            {
                StoreValidation.SameDimension(samples, StoredDimensionUnlocked());
            }

            DateTime now = DateTime.UtcNow;
            IReadOnlyList<long> ids = [.. samples.Select(s => AddUnlocked(s, now))];
            return Task.FromResult(ids);
        }
    }

    /// <inheritdoc />
    public Task<bool> DeleteSampleAsync(long id, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            return Task.FromResult(_samples.RemoveAll(s => s.Id == id) > 0);
        }
    }

    /// <inheritdoc />
    public Task<int> DeleteSamplesAsync(double ageMin, double ageMax, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        StoreValidation.Range(ageMin, ageMax);
        lock (_gate)
        {
            return Task.FromResult(_samples.RemoveAll(s => s.AgeYears >= ageMin && s.AgeYears <= ageMax));
        }
    }

    /// <inheritdoc />
    public Task<int> CountSamplesAsync(double ageMin, double ageMax, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        StoreValidation.Range(ageMin, ageMax);
        lock (_gate)
        {
            return Task.FromResult(_samples.Count(s => s.AgeYears >= ageMin && s.AgeYears <= ageMax));
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<SampleRecord>> GetSamplesAsync(double ageMin, double ageMax, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        StoreValidation.Range(ageMin, ageMax);
        lock (_gate)
        {
            IReadOnlyList<SampleRecord> result = [.. _samples.Where(s => s.AgeYears >= ageMin && s.AgeYears <= ageMax).Select(Copy)];
            return Task.FromResult(result);
        }
    }

    /// <inheritdoc />
    public Task<SampleRecord?> GetSampleAsync(long id, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            SampleRecord? found = _samples.Find(s => s.Id == id);
            return Task.FromResult(found is null ? null : Copy(found));
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<double>> GetSampleAgesAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            IReadOnlyList<double> ages = [.. _samples.Select(s => s.AgeYears).Order()];
            return Task.FromResult(ages);
        }
    }

    /// <inheritdoc />
    public Task AddModelAsync(ModelRecord model, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        StoreValidation.Model(model);
        lock (_gate)
        {
            if (_models.Exists(m => m.Id == model.Id))
            {
                throw new InvalidOperationException($"A model with id {model.Id} already exists.");
            }

            if (model.IsActive)
            {
                DeactivateRangeUnlocked(model.AgeMin, model.AgeMax);
            }

            _models.Add(model);
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<ModelRecord?> GetModelAsync(Guid id, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            return Task.FromResult(_models.Find(m => m.Id == id));
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<ModelRecord>> ListModelsAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            IReadOnlyList<ModelRecord> result = [.. Ordered(_models)];
            return Task.FromResult(result);
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<ModelRecord>> FindActiveModelsAsync(double age, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        StoreValidation.Age(age, nameof(age));
        lock (_gate)
        {
            IReadOnlyList<ModelRecord> result = [.. Ordered(_models.Where(m => m.IsActive && m.Covers(age)))];
            return Task.FromResult(result);
        }
    }

    /// <inheritdoc />
    public Task<bool> ActivateModelAsync(Guid id, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            int index = _models.FindIndex(m => m.Id == id);
            if (index < 0)
            {
                return Task.FromResult(false);
            }

            ModelRecord model = _models[index];
            DeactivateRangeUnlocked(model.AgeMin, model.AgeMax);
            _models[index] = model with { IsActive = true };
            return Task.FromResult(true);
        }
    }

    /// <inheritdoc />
    public Task<bool> DeactivateModelAsync(Guid id, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            int index = _models.FindIndex(m => m.Id == id);
            if (index < 0)
            {
                return Task.FromResult(false);
            }

            _models[index] = _models[index] with { IsActive = false };
            return Task.FromResult(true);
        }
    }

    /// <inheritdoc />
    public Task<bool> DeleteModelAsync(Guid id, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            return Task.FromResult(_models.RemoveAll(m => m.Id == id) > 0);
        }
    }

    private int? StoredDimensionUnlocked() => _samples.Count > 0 ? _samples[0].Embedding.Length : null;

    private long AddUnlocked(NewSample sample, DateTime now)
    {
        var record = new SampleRecord(_nextSampleId++, sample.AgeYears, [.. sample.Embedding], sample.Subject, sample.Label, now);
        _samples.Add(record);
        return record.Id;
    }

    private void DeactivateRangeUnlocked(double ageMin, double ageMax)
    {
        for (int i = 0; i < _models.Count; i++)
        {
            if (_models[i].IsActive && _models[i].AgeMin == ageMin && _models[i].AgeMax == ageMax)
            {
                _models[i] = _models[i] with { IsActive = false };
            }
        }
    }

    // Insertion order stands in for creation order when two records share a time stamp.
    private static IEnumerable<ModelRecord> Ordered(IEnumerable<ModelRecord> models) =>
        models.Select((m, i) => (m, i)).OrderBy(x => x.m.AgeMin).ThenBy(x => x.m.CreatedUtc).ThenBy(x => x.i).Select(x => x.m);

    private static SampleRecord Copy(SampleRecord s) => s with { Embedding = [.. s.Embedding] };
}
