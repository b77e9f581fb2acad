using System.Diagnostics;
using System.Diagnostics.Metrics;
using AgeGroupAnomaly.Compute;
using AgeGroupAnomaly.Checkpoints;
using AgeGroupAnomaly.Management;
using AgeGroupAnomaly.Modeling;
using AgeGroupAnomaly.Scoring;
using AgeGroupAnomaly.Storage;
using AgeGroupAnomaly.Telemetry;
using AgeGroupAnomaly.Training;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgeGroupAnomaly;

/// <summary>
/// The façade: trains one autoencoder per age range, keeps each as a store record plus a
/// checkpoint, and scores embeddings against the active model for a child's age. Thread-safe: many
/// threads may score while another trains, activates, deletes or clears the cache.
/// </summary>
/// <remarks>
/// Trainings run on threads the manager owns (never on thread-pool threads), at most
/// <see cref="ModelManagerOptions.MaxConcurrentTrainings"/> at once; others wait in order. Dispose
/// the manager when the app stops: it cancels trainings and ends its threads.
/// </remarks>
public sealed class ModelManager : IDisposable
{
    private readonly IModelStore _store;
    private readonly ModelManagerOptions _options;
    private readonly ILogger _logger;
    private readonly SecondCore? _secondCore;
    private readonly ModelResolver _models;
    private readonly ModelScorer _scorer;
    private readonly TrainingQueue _trainingQueue;
    private readonly TrainingCoordinator _training;
    private readonly ModelCatalog _catalog;
    private readonly ModelManagerTelemetry _telemetry;
    private readonly IDisposable? _modelChanges;

    /// <summary>Creates a manager.</summary>
    /// <param name="store">Where samples and model records live.</param>
    /// <param name="options">Checkpoint folder, cache size, segments, defaults.</param>
    /// <param name="loggerFactory">Logging; null for none.</param>
    /// <param name="checkpoints">Where checkpoints live; null for a <see cref="FileCheckpointStore"/> in <see cref="ModelManagerOptions.CheckpointDirectory"/>.</param>
    /// <param name="meterFactory">
    /// Creates the "ModelManager.Lib" meter (DI passes the host's); null makes a meter of this
    /// manager's own. Metrics and traces cost next to nothing until a listener subscribes.
    /// </param>
    public ModelManager(IModelStore store, ModelManagerOptions options, ILoggerFactory? loggerFactory = null, ICheckpointStore? checkpoints = null, IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (checkpoints is null && string.IsNullOrWhiteSpace(options.CheckpointDirectory))
        {
            throw new ArgumentException("CheckpointDirectory is empty; give the folder for checkpoint files, or give the manager an ICheckpointStore.", nameof(options));
        }

        loggerFactory ??= NullLoggerFactory.Instance;
        _store = store;
        _options = options;
        _logger = loggerFactory.CreateLogger<ModelManager>();
        checkpoints ??= new FileCheckpointStore(options.CheckpointDirectory!);
        _secondCore = options.SplitSingleScoresAcrossCores && Environment.ProcessorCount > 1 ? new SecondCore() : null;
        _telemetry = new ModelManagerTelemetry(meterFactory);
        _models = new ModelResolver(
            new ActiveModelRouter(store, options.ActiveModelsRefreshInterval, TimeProvider.System),
            new ModelCache(options.CacheCapacity, _telemetry),
            new ModelLoader(store, checkpoints, _secondCore, _logger, _telemetry, options.CompactScoringWeights).LoadAsync);
        _scorer = new ModelScorer(options.Segments, options.ExplainTopFeatures, _telemetry);
        _trainingQueue = new TrainingQueue(options.MaxConcurrentTrainings);
        _training = new TrainingCoordinator(store, checkpoints, _trainingQueue, options.AllowOverlappingRanges, loggerFactory, _models.Invalidate, _telemetry);
        _catalog = new ModelCatalog(store, checkpoints, _models, _training, _logger);

        // Another instance's activation or retraining reaches routing at once; the periodic refresh stays the fallback.
        _modelChanges = (store as IModelChangeNotifier)?.SubscribeToModelChanges(_models.Invalidate);
    }

    /// <summary>Models currently held in the cache.</summary>
    public int CachedModelCount => _models.CachedCount;

    /// <summary>
    /// Trains a model on the stored samples whose age lies in [<paramref name="ageMin"/>, <paramref name="ageMax"/>],
    /// writes its checkpoint, then records it as the active model of that range (the previous active
    /// model of exactly that range is deactivated in the same transaction). If recording fails, the
    /// checkpoint is removed again.
    /// </summary>
    /// <param name="ageMin">Youngest age (inclusive).</param>
    /// <param name="ageMax">Oldest age (inclusive).</param>
    /// <param name="config">Training configuration; null for the options' default.</param>
    /// <param name="progress">Receives each epoch's record.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The new model's id, range, threshold, training result and checkpoint.</returns>
    /// <exception cref="OverlappingRangeException">The range overlaps another active model's (unless allowed).</exception>
    public Task<AgeGroupTrainingResult> TrainAgeGroupModelAsync(
        double ageMin, double ageMax, TrainingConfig? config = null, IProgress<EpochRecord>? progress = null, CancellationToken cancellationToken = default) =>
        _training.TrainAsync(ageMin, ageMax, config ?? _options.DefaultTrainingConfig, progress, cancellationToken);

    /// <summary>
    /// Imports a model trained by the original PyTorch service from the file
    /// <c>torch.save(model.state_dict(), path)</c> wrote (or a dict holding it under <c>state_dict</c>
    /// beside other keys). The architecture is inferred from the tensors' names and shapes and every
    /// tensor is checked against it; the model is then stored like a trained one (checkpoint, then the
    /// record that activates it for [<paramref name="ageMin"/>, <paramref name="ageMax"/>]) and scores
    /// as PyTorch does, on raw (unstandardised) embeddings. Loads libtorch (to read the tensors).
    /// </summary>
    /// <param name="path">The <c>.pt</c> file.</param>
    /// <param name="ageMin">Youngest age (inclusive).</param>
    /// <param name="ageMax">Oldest age (inclusive).</param>
    /// <param name="calibration">The original's threshold, or the stored samples of the range to calibrate on.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The new model's id, range, threshold, description and checkpoint.</returns>
    /// <exception cref="ModelLoadingException">The file is missing, of an unsupported form (legacy non-zip, a whole pickled module, TorchScript), or its tensors do not form the original autoencoder (the message names the tensor).</exception>
    /// <exception cref="OverlappingRangeException">The range overlaps another active model's (unless allowed).</exception>
    /// <exception cref="InsufficientSamplesException">Calibrating on samples, and the range holds none.</exception>
    /// <exception cref="NativeRuntimeUnavailableException">libtorch cannot be loaded here (the message gives the cause and remedy).</exception>
    public Task<AgeGroupTrainingResult> ImportPyTorchModelAsync(
        string path, double ageMin, double ageMax, Import.PyTorchImportCalibration calibration, CancellationToken cancellationToken = default) =>
        new ModelImporter(_store, _training, _logger).ImportAsync(path, ageMin, ageMax, calibration, cancellationToken);

    /// <summary>Proposes age ranges from the ages in the store (greedy over whole years).</summary>
    /// <param name="options">Minimum samples and maximum span; null for the defaults (50, 4).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The ranges, youngest first.</returns>
    public async Task<IReadOnlyList<AgeGroupPlan>> PlanAgeGroupsAsync(AgeGroupPlanOptions? options = null, CancellationToken cancellationToken = default)
    {
        IReadOnlyList<double> ages = await _store.GetSampleAgesAsync(cancellationToken).ConfigureAwait(false);
        return AgeGroupPlanner.Plan(ages, options ?? new AgeGroupPlanOptions());
    }

    /// <summary>Plans the age groups and trains every one that has enough samples.</summary>
    /// <param name="planOptions">Planning rules; null for the defaults.</param>
    /// <param name="config">Training configuration; null for the options' default.</param>
    /// <param name="progress">Receives each epoch of each group.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>One result per trained group.</returns>
    public async Task<IReadOnlyList<AgeGroupTrainingResult>> TrainAllAgeGroupsAsync(
        AgeGroupPlanOptions? planOptions = null, TrainingConfig? config = null, IProgress<AgeGroupProgress>? progress = null, CancellationToken cancellationToken = default) =>
        await _training.TrainAllAsync(await PlanAgeGroupsAsync(planOptions, cancellationToken).ConfigureAwait(false), config ?? _options.DefaultTrainingConfig, progress, cancellationToken).ConfigureAwait(false);

    /// <summary>Scores an embedding against the active model for an age.</summary>
    /// <remarks>
    /// When several active ranges contain the age (they share a boundary, as [3, 5] and [5, 8] do at
    /// 5), the range with the greatest AgeMin wins, then the newest model. A cached model is scored
    /// in managed code without libtorch, allocating only the result.
    /// </remarks>
    /// <param name="embedding">The embedding.</param>
    /// <param name="age">The child's age in years.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>Loss, threshold, anomaly flag, ratio, percentile rank and segment losses.</returns>
    public ValueTask<ScoreResult> ScoreAsync(ReadOnlyMemory<float> embedding, double age, CancellationToken cancellationToken = default)
    {
        StoreValidation.Age(age, nameof(age));
        ValueTask<LoadedModel> model = _models.ForAgeAsync(age, cancellationToken);
        return model.IsCompletedSuccessfully
            ? new ValueTask<ScoreResult>(_scorer.Score(model.Result, embedding.Span))
            : ScoreSlowAsync(model, embedding);
    }

    /// <summary>Scores many embeddings, each against the active model for its age; equal to scoring one by one.</summary>
    /// <param name="embeddings">The embeddings.</param>
    /// <param name="ages">One age per embedding.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>One result per embedding, in input order.</returns>
    public async Task<IReadOnlyList<ScoreResult>> ScoreBatchAsync(IReadOnlyList<ReadOnlyMemory<float>> embeddings, IReadOnlyList<double> ages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(embeddings);
        ArgumentNullException.ThrowIfNull(ages);
        if (embeddings.Count != ages.Count)
        {
            throw new ArgumentException($"{embeddings.Count} embeddings but {ages.Count} ages; give one age per embedding.", nameof(ages));
        }

        using Activity? activity = ModelManagerTelemetry.Activities.StartActivity("ModelManager.ScoreBatch");
        activity?.SetTag("modelmanager.score.rows", embeddings.Count);
        var results = new ScoreResult[embeddings.Count];
        foreach ((LoadedModel model, List<int> rows) in await _models.RouteAsync(ages, cancellationToken).ConfigureAwait(false))
        {
            cancellationToken.ThrowIfCancellationRequested();
            _scorer.ScoreRows(model, embeddings, rows, results);
        }

        return results;
    }

    /// <summary>Scores many embeddings, each against the active model for its age; equal to scoring one by one.</summary>
    /// <param name="embeddings">The embeddings.</param>
    /// <param name="ages">One age per embedding.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>One result per embedding, in input order.</returns>
    public Task<IReadOnlyList<ScoreResult>> ScoreBatchAsync(IReadOnlyList<float[]> embeddings, IReadOnlyList<double> ages, CancellationToken cancellationToken = default) =>
        ScoreBatchAsync(EmbeddingRows.From(embeddings), ages, cancellationToken);

    /// <summary>Scores many embeddings of children of one age.</summary>
    /// <param name="embeddings">The embeddings.</param>
    /// <param name="age">Their age.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>One result per embedding.</returns>
    public Task<IReadOnlyList<ScoreResult>> ScoreBatchAsync(IReadOnlyList<float[]> embeddings, double age, CancellationToken cancellationToken = default) =>
        ScoreBatchAsync(EmbeddingRows.From(embeddings), age, cancellationToken);

    /// <summary>Scores many embeddings of children of one age.</summary>
    /// <param name="embeddings">The embeddings.</param>
    /// <param name="age">Their age.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>One result per embedding.</returns>
    public Task<IReadOnlyList<ScoreResult>> ScoreBatchAsync(IReadOnlyList<ReadOnlyMemory<float>> embeddings, double age, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(embeddings);
        return ScoreBatchAsync(embeddings, [.. Enumerable.Repeat(age, embeddings.Count)], cancellationToken);
    }

    /// <summary>Scores a contiguous row-major block of embeddings of children of one age.</summary>
    /// <param name="embeddings">Rows × <paramref name="dimension"/> values.</param>
    /// <param name="dimension">Length of one embedding.</param>
    /// <param name="age">Their age.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>One result per row.</returns>
    public Task<IReadOnlyList<ScoreResult>> ScoreBatchAsync(ReadOnlyMemory<float> embeddings, int dimension, double age, CancellationToken cancellationToken = default) =>
        ScoreBatchAsync(EmbeddingRows.From(embeddings, dimension), age, cancellationToken);

    /// <summary>Scores an embedding under every active model (youngest range first).</summary>
    /// <param name="embedding">The embedding.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>One result per active model.</returns>
    public async Task<IReadOnlyList<ScoreResult>> CompareAcrossAgeGroupsAsync(ReadOnlyMemory<float> embedding, CancellationToken cancellationToken = default) =>
        [.. (await _models.ActiveAsync(cancellationToken).ConfigureAwait(false)).Select(model => _scorer.Score(model, embedding.Span))];

    /// <summary>Mean squared reconstruction error of an embedding under a given model (active or not).</summary>
    /// <param name="embedding">The embedding.</param>
    /// <param name="modelId">The model.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The error.</returns>
    /// <exception cref="ModelNotFoundException">No model has the id.</exception>
    public async Task<double> ComputeReconstructionLossAsync(ReadOnlyMemory<float> embedding, Guid modelId, CancellationToken cancellationToken = default) =>
        _scorer.Loss(await _models.ByIdAsync(modelId, cancellationToken).ConfigureAwait(false), embedding.Span);

    /// <summary>Mean squared reconstruction errors of many embeddings under a given model (active or not); equal to one by one.</summary>
    /// <param name="embeddings">The embeddings.</param>
    /// <param name="modelId">The model.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>One error per embedding, in input order.</returns>
    /// <exception cref="ModelNotFoundException">No model has the id.</exception>
    public async Task<IReadOnlyList<double>> ComputeReconstructionLossesAsync(IReadOnlyList<ReadOnlyMemory<float>> embeddings, Guid modelId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(embeddings);
        LoadedModel model = await _models.ByIdAsync(modelId, cancellationToken).ConfigureAwait(false);
        return _scorer.Losses(model, embeddings, [.. Enumerable.Range(0, embeddings.Count)]);
    }

    /// <summary>
    /// The trained module of a model (built from the cached weights). The caller owns and disposes it.
    /// A model trained with <see cref="TrainingConfig.Standardize"/> takes standardised inputs:
    /// apply <see cref="ModelWeights.Standardizer"/> of <see cref="TrainingResult.Weights"/> first.
    /// </summary>
    /// <param name="modelId">The model.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The module in eval mode.</returns>
    /// <exception cref="ModelNotFoundException">No model has the id.</exception>
    public async Task<AutoencoderModel> LoadModelAsync(Guid modelId, CancellationToken cancellationToken = default) =>
        AutoencoderModel.FromWeights((await _models.ByIdAsync(modelId, cancellationToken).ConfigureAwait(false)).Weights);

    /// <summary>Everything known about one model.</summary>
    /// <param name="modelId">The model.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The information.</returns>
    /// <exception cref="ModelNotFoundException">No model has the id.</exception>
    public Task<ModelInfo> GetModelInfoAsync(Guid modelId, CancellationToken cancellationToken = default) =>
        _catalog.GetAsync(modelId, cancellationToken);

    /// <summary>Every model, ordered by AgeMin, then creation; a record whose parameters cannot be read is skipped with a logged warning.</summary>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The models.</returns>
    public Task<IReadOnlyList<ModelInfo>> ListModelsAsync(CancellationToken cancellationToken = default) => _catalog.ListAsync(cancellationToken);

    /// <summary>Makes a model the active one of its range (rolling back or forward between versions).</summary>
    /// <param name="modelId">The model.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the change is stored.</returns>
    /// <exception cref="ModelNotFoundException">No model has the id.</exception>
    /// <exception cref="OverlappingRangeException">Its range overlaps another active model's (unless allowed).</exception>
    public Task ActivateAsync(Guid modelId, CancellationToken cancellationToken = default) => _catalog.ActivateAsync(modelId, cancellationToken);

    /// <summary>Stops a model from being used for scoring by age.</summary>
    /// <param name="modelId">The model.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the change is stored.</returns>
    /// <exception cref="ModelNotFoundException">No model has the id.</exception>
    public Task DeactivateAsync(Guid modelId, CancellationToken cancellationToken = default) => _catalog.DeactivateAsync(modelId, cancellationToken);

    /// <summary>
    /// Gives a model a new anomaly threshold without retraining: the threshold is chosen again from
    /// the calibration losses stored with the model, at <paramref name="thresholdPercentile"/>
    /// (for a target false-alarm rate of r percent, pass 100 − r). The result is a new version with
    /// the same weights, active when the source model is (replacing it); the source stays stored, so
    /// <see cref="ActivateAsync"/> on it rolls back.
    /// </summary>
    /// <param name="modelId">The model to recalibrate.</param>
    /// <param name="thresholdPercentile">The new percentile, in (0, 100].</param>
    /// <param name="calibration">The rows to calibrate on; null keeps the model's own (its <see cref="ThresholdPolicy.Calibration"/>).</param>
    /// <param name="cancellationToken">Cancels the store and checkpoint I/O.</param>
    /// <returns>The new version.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The percentile is outside (0, 100].</exception>
    /// <exception cref="ModelNotFoundException">No model has this id.</exception>
    /// <exception cref="ModelLoadingException">The model's record or checkpoint is damaged.</exception>
    /// <exception cref="InvalidOperationException">The model's threshold was given at import, so it stores no calibration losses.</exception>
    public Task<ModelInfo> RecalibrateAsync(Guid modelId, double thresholdPercentile, ThresholdCalibration? calibration = null, CancellationToken cancellationToken = default) =>
        _catalog.RecalibrateAsync(modelId, thresholdPercentile, calibration, cancellationToken);

    /// <summary>Deletes a model's record, then its checkpoint, and drops it from the cache.</summary>
    /// <param name="modelId">The model.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the model is gone.</returns>
    /// <exception cref="ModelNotFoundException">No model has the id.</exception>
    public Task DeleteAsync(Guid modelId, CancellationToken cancellationToken = default) => _catalog.DeleteAsync(modelId, cancellationToken);

    /// <summary>Drops every loaded model; the next use loads again from store and checkpoint.</summary>
    public void ClearModelCache()
    {
        _models.Clear();
        ManagerLog.CacheCleared(_logger);
    }

    /// <summary>
    /// Deletes checkpoints that no record points to and leftovers of interrupted writes, both only
    /// when older than <paramref name="gracePeriod"/> (a checkpoint another process is about to record is young).
    /// </summary>
    /// <param name="gracePeriod">Minimum age of a checkpoint before it is removed; null for 10 minutes.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>How many checkpoints were removed.</returns>
    public Task<int> RemoveOrphanedCheckpointsAsync(TimeSpan? gracePeriod = null, CancellationToken cancellationToken = default) =>
        _catalog.RemoveOrphanedCheckpointsAsync(gracePeriod ?? TimeSpan.FromMinutes(10), cancellationToken);

    /// <summary>
    /// Cancels every training running or waiting now (they throw <see cref="OperationCanceledException"/>
    /// and leave nothing behind); trainings requested later run normally. Under DI this is called
    /// when the host starts stopping, so a shutdown never waits for a training.
    /// </summary>
    public void CancelTrainings() => _trainingQueue.CancelAll();

    /// <summary>The store, for the health check.</summary>
    internal IModelStore Store => _store;

    /// <summary>A model as scoring gets it (through the cache), for the health check.</summary>
    internal ValueTask<LoadedModel> LoadForScoringAsync(Guid modelId, CancellationToken cancellationToken) => _models.ByIdAsync(modelId, cancellationToken);

    /// <summary>The helper of <see cref="ModelManagerOptions.SplitSingleScoresAcrossCores"/>, when this manager started one.</summary>
    internal SecondCore? SecondCore => _secondCore;

    /// <summary>
    /// Cancels trainings in progress or waiting and ends the training threads, and ends the scoring
    /// helper thread, if one was started. Scores after this still work (on one core); trainings throw
    /// <see cref="ObjectDisposedException"/>.
    /// </summary>
    public void Dispose()
    {
        // Both parts are idempotent, so a second Dispose (a using block plus a container) is harmless.
        _modelChanges?.Dispose();
        _trainingQueue.Dispose();
        _secondCore?.Dispose();
        _telemetry.Dispose();
    }

    private async ValueTask<ScoreResult> ScoreSlowAsync(ValueTask<LoadedModel> model, ReadOnlyMemory<float> embedding) =>
        _scorer.Score(await model.ConfigureAwait(false), embedding.Span);
}
