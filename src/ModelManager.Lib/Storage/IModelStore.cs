namespace AgeGroupAnomaly.Storage;

/// <summary>
/// Where samples and model records live. <see cref="Sqlite.SqliteModelStore"/> is the embedded
/// default; <see cref="InMemoryModelStore"/> serves tests and small tools. Implementations are
/// thread-safe.
/// </summary>
public interface IModelStore
{
    /// <summary>Stores one sample.</summary>
    /// <param name="sample">The sample (finite, non-negative age; finite embedding).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The new sample's id.</returns>
    Task<long> AddSampleAsync(NewSample sample, CancellationToken cancellationToken = default);

    /// <summary>Stores many samples in one transaction: all or none.</summary>
    /// <param name="samples">The samples.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The new ids, in input order.</returns>
    Task<IReadOnlyList<long>> AddSamplesAsync(IReadOnlyList<NewSample> samples, CancellationToken cancellationToken = default);

    /// <summary>Deletes one sample.</summary>
    /// <param name="id">The sample's id.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>True when a sample was deleted, false when none had the id.</returns>
    Task<bool> DeleteSampleAsync(long id, CancellationToken cancellationToken = default);

    /// <summary>Deletes every sample whose age lies in [<paramref name="ageMin"/>, <paramref name="ageMax"/>].</summary>
    /// <param name="ageMin">Youngest age (inclusive).</param>
    /// <param name="ageMax">Oldest age (inclusive).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>How many samples were deleted.</returns>
    Task<int> DeleteSamplesAsync(double ageMin, double ageMax, CancellationToken cancellationToken = default);

    /// <summary>Counts samples whose age lies in [<paramref name="ageMin"/>, <paramref name="ageMax"/>].</summary>
    /// <param name="ageMin">Inclusive lower bound.</param>
    /// <param name="ageMax">Inclusive upper bound.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The count.</returns>
    Task<int> CountSamplesAsync(double ageMin, double ageMax, CancellationToken cancellationToken = default);

    /// <summary>Samples whose age lies in [<paramref name="ageMin"/>, <paramref name="ageMax"/>], ordered by id.</summary>
    /// <param name="ageMin">Inclusive lower bound.</param>
    /// <param name="ageMax">Inclusive upper bound.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The samples.</returns>
    Task<IReadOnlyList<SampleRecord>> GetSamplesAsync(double ageMin, double ageMax, CancellationToken cancellationToken = default);

    /// <summary>One sample, or null.</summary>
    /// <param name="id">Sample id.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The sample or null.</returns>
    Task<SampleRecord?> GetSampleAsync(long id, CancellationToken cancellationToken = default);

    /// <summary>The age of every stored sample (for age-group planning), ascending.</summary>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The ages.</returns>
    Task<IReadOnlyList<double>> GetSampleAgesAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Adds a model record. When it is active, any other active model of exactly the same range is
    /// deactivated in the same transaction.
    /// </summary>
    /// <param name="model">The record.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the record is stored.</returns>
    Task AddModelAsync(ModelRecord model, CancellationToken cancellationToken = default);

    /// <summary>One model record, or null.</summary>
    /// <param name="id">Model id.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The record or null.</returns>
    Task<ModelRecord?> GetModelAsync(Guid id, CancellationToken cancellationToken = default);

    /// <summary>All model records ordered by age_min, then creation.</summary>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The records.</returns>
    Task<IReadOnlyList<ModelRecord>> ListModelsAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// The checkpoint location of every model record, including records that are otherwise damaged
    /// (so orphan cleanup never deletes a checkpoint a repairable record still names). The default
    /// reads them from <see cref="ListModelsAsync"/>.
    /// </summary>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The recorded checkpoint locations.</returns>
    async Task<IReadOnlyCollection<string>> ListCheckpointLocationsAsync(CancellationToken cancellationToken = default) =>
        [.. (await ListModelsAsync(cancellationToken).ConfigureAwait(false)).Select(m => m.CheckpointPath)];

    /// <summary>Active models whose range contains <paramref name="age"/>, ordered by age_min, then creation.</summary>
    /// <param name="age">Age in years.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The records.</returns>
    Task<IReadOnlyList<ModelRecord>> FindActiveModelsAsync(double age, CancellationToken cancellationToken = default);

    /// <summary>Makes a model the active one of its range (the previous active one of that range is deactivated in the same transaction).</summary>
    /// <param name="id">Model id.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>False when there is no such model.</returns>
    Task<bool> ActivateModelAsync(Guid id, CancellationToken cancellationToken = default);

    /// <summary>Deactivates a model.</summary>
    /// <param name="id">Model id.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>False when there is no such model.</returns>
    Task<bool> DeactivateModelAsync(Guid id, CancellationToken cancellationToken = default);

    /// <summary>Deletes a model record.</summary>
    /// <param name="id">Model id.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>False when there was no such model.</returns>
    Task<bool> DeleteModelAsync(Guid id, CancellationToken cancellationToken = default);
}
