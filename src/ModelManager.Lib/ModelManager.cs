using System.Collections.Immutable;
using System.Diagnostics;
using System.Globalization;
using AgeGroupAnomaly.Checkpoints;
using AgeGroupAnomaly.Management;
using AgeGroupAnomaly.Modeling;
using AgeGroupAnomaly.Scoring;
using AgeGroupAnomaly.Storage;
using AgeGroupAnomaly.Training;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgeGroupAnomaly;

/// <summary>
/// The façade: trains one autoencoder per age range, keeps each as a store record plus a checkpoint
/// file, and scores embeddings against the active model for a child's age. Thread-safe: many
/// threads may score while another trains, activates, deletes or clears the cache.
/// </summary>
public sealed class ModelManager
{
    private readonly IModelStore _store;
    private readonly ModelManagerOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly CheckpointStore _checkpoints;
    private readonly ModelCache _cache;
    private readonly ActiveModelRouter _router;
    private readonly Func<Guid, Task<LoadedModel>> _load;
    private readonly EmbeddingSegment[] _segments;

    /// <summary>Creates a manager.</summary>
    /// <param name="store">Where samples and model records live.</param>
    /// <param name="options">Checkpoint directory, cache size, segments, defaults.</param>
    /// <param name="loggerFactory">Logging; null for none.</param>
    public ModelManager(IModelStore store, ModelManagerOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _store = store;
        _options = options;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggerFactory.CreateLogger<ModelManager>();
        _checkpoints = new CheckpointStore(options.CheckpointDirectory);
        _cache = new ModelCache(options.CacheCapacity);
        _router = new ActiveModelRouter(store, options.ActiveModelsRefreshInterval, TimeProvider.System);
        _load = LoadAsync;
        _segments = [.. options.Segments];
    }

    /// <summary>The store in use.</summary>
    public IModelStore Store => _store;

    /// <summary>The checkpoint files in use.</summary>
    public CheckpointStore Checkpoints => _checkpoints;

    /// <summary>Models currently held in the cache.</summary>
    public int CachedModelCount => _cache.Count;

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
    public async Task<AgeGroupTrainingResult> TrainAgeGroupModelAsync(
        double ageMin, double ageMax, TrainingConfig? config = null, IProgress<EpochRecord>? progress = null, CancellationToken cancellationToken = default)
    {
        StoreValidation.Range(ageMin, ageMax);
        config ??= _options.DefaultTrainingConfig;
        config.Validate();

        IReadOnlyList<SampleRecord> samples = await _store.GetSamplesAsync(ageMin, ageMax, cancellationToken).ConfigureAwait(false);
        float[][] embeddings = TrainingSet(samples, ageMin, ageMax, config);

        var trainer = new AutoencoderTrainer(config, _loggerFactory.CreateLogger<AutoencoderTrainer>());
        TrainingResult result;
        using (TrainedAutoencoder trained = trainer.Train(embeddings, progress, cancellationToken))
        {
            result = trained.Result; // the weights are managed copies; the native module can go
        }

        var id = Guid.NewGuid();
        CheckpointInfo checkpoint = _checkpoints.Write(id, result.Weights);
        var record = new ModelRecord
        {
            Id = id,
            AgeMin = ageMin,
            AgeMax = ageMax,
            EmbeddingDimension = embeddings[0].Length,
            ParametersJson = ModelParameters.From(result).ToJson(),
            SampleCount = samples.Count,
            Threshold = result.Threshold,
            CreatedUtc = DateTime.UtcNow,
            IsActive = true,
            CheckpointPath = checkpoint.RelativePath,
            CheckpointSha256 = checkpoint.Sha256,
        };

        try
        {
            await _store.AddModelAsync(record, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            _checkpoints.Delete(checkpoint.RelativePath);
            ManagerLog.RecordFailedCheckpointRemoved(_logger, id, checkpoint.RelativePath, ex);
            throw;
        }
        finally
        {
            _router.Invalidate();
        }

        ManagerLog.ModelRecorded(_logger, id, ageMin, ageMax, samples.Count, result.Threshold);
        return new AgeGroupTrainingResult(id, ageMin, ageMax, samples.Count, result.Threshold, result, checkpoint);
    }

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
        AgeGroupPlanOptions? planOptions = null, TrainingConfig? config = null, IProgress<AgeGroupProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        config ??= _options.DefaultTrainingConfig;
        AgeGroupPlan[] groups = [.. (await PlanAgeGroupsAsync(planOptions, cancellationToken).ConfigureAwait(false)).Where(g => g.HasEnoughSamples)];
        var results = new List<AgeGroupTrainingResult>(groups.Length);
        for (int i = 0; i < groups.Length; i++)
        {
            AgeGroupPlan group = groups[i];
            int index = i;
            IProgress<EpochRecord>? epochs = progress is null ? null : new RelayProgress<EpochRecord>(e => progress.Report(new AgeGroupProgress(index, groups.Length, group, e, config.Epochs)));
            results.Add(await TrainAgeGroupModelAsync(group.AgeMin, group.AgeMax, config, epochs, cancellationToken).ConfigureAwait(false));
        }

        return results;
    }

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
        ValueTask<ModelRecord?> route = _router.ForAgeAsync(age, cancellationToken);
        if (route.IsCompletedSuccessfully)
        {
            ModelRecord record = route.Result ?? throw new NoModelForAgeException(age);
            ValueTask<LoadedModel> load = _cache.GetOrLoadAsync(record.Id, _load, cancellationToken);
            if (load.IsCompletedSuccessfully)
            {
                return new ValueTask<ScoreResult>(ScoreWith(load.Result, embedding.Span));
            }
        }

        return ScoreSlowAsync(embedding, age, cancellationToken);
    }

    /// <summary>Scores many embeddings, each against the active model for its age; equal to scoring one by one.</summary>
    /// <param name="embeddings">The embeddings.</param>
    /// <param name="ages">One age per embedding.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>One result per embedding, in input order.</returns>
    public async Task<IReadOnlyList<ScoreResult>> ScoreBatchAsync(IReadOnlyList<float[]> embeddings, IReadOnlyList<double> ages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(embeddings);
        ArgumentNullException.ThrowIfNull(ages);
        if (embeddings.Count != ages.Count)
        {
            throw new ArgumentException($"{embeddings.Count} embeddings but {ages.Count} ages; give one age per embedding.", nameof(ages));
        }

        var byModel = new Dictionary<Guid, (LoadedModel Model, List<int> Rows)>();
        double previousAge = double.NaN;
        List<int>? previousRows = null;
        for (int i = 0; i < ages.Count; i++)
        {
            StoreValidation.Age(ages[i], nameof(ages), $"Row {i}: ");
            if (ages[i].Equals(previousAge))
            {
                previousRows!.Add(i); // runs of one age (the common batch) are routed once
                continue;
            }

            ModelRecord record = await _router.ForAgeAsync(ages[i], cancellationToken).ConfigureAwait(false) ?? throw new NoModelForAgeException(ages[i]);
            if (!byModel.TryGetValue(record.Id, out var group))
            {
                group = (await _cache.GetOrLoadAsync(record.Id, _load, cancellationToken).ConfigureAwait(false), []);
                byModel[record.Id] = group;
            }

            group.Rows.Add(i);
            previousAge = ages[i];
            previousRows = group.Rows;
        }

        var results = new ScoreResult[embeddings.Count];
        foreach ((LoadedModel model, List<int> rows) in byModel.Values)
        {
            cancellationToken.ThrowIfCancellationRequested();
            ScoreRows(model, embeddings, rows, results);
        }

        return results;
    }

    /// <summary>Scores many embeddings of children of one age.</summary>
    /// <param name="embeddings">The embeddings.</param>
    /// <param name="age">Their age.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>One result per embedding.</returns>
    public Task<IReadOnlyList<ScoreResult>> ScoreBatchAsync(IReadOnlyList<float[]> embeddings, double age, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(embeddings);
        return ScoreBatchAsync(embeddings, [.. Enumerable.Repeat(age, embeddings.Count)], cancellationToken);
    }

    /// <summary>Scores an embedding under every active model (youngest range first).</summary>
    /// <param name="embedding">The embedding.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>One result per active model.</returns>
    public async Task<IReadOnlyList<ScoreResult>> CompareAcrossAgeGroupsAsync(ReadOnlyMemory<float> embedding, CancellationToken cancellationToken = default)
    {
        ImmutableArray<ModelRecord> active = await _router.ActiveAsync(cancellationToken).ConfigureAwait(false);
        var results = new List<ScoreResult>(active.Length);
        foreach (ModelRecord record in active)
        {
            LoadedModel model = await _cache.GetOrLoadAsync(record.Id, _load, cancellationToken).ConfigureAwait(false);
            results.Add(ScoreWith(model, embedding.Span));
        }

        return results;
    }

    /// <summary>Mean squared reconstruction error of an embedding under a given model (active or not).</summary>
    /// <param name="embedding">The embedding.</param>
    /// <param name="modelId">The model.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The error.</returns>
    public async Task<double> ComputeReconstructionLossAsync(ReadOnlyMemory<float> embedding, Guid modelId, CancellationToken cancellationToken = default)
    {
        LoadedModel model = await _cache.GetOrLoadAsync(modelId, _load, cancellationToken).ConfigureAwait(false);
        CheckEmbedding(model, embedding.Span);
        return model.Kernel.ReconstructionError(embedding.Span);
    }

    /// <summary>The trained module of a model (built from the cached weights). The caller owns and disposes it.</summary>
    /// <param name="modelId">The model.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The module in eval mode.</returns>
    public async Task<AutoencoderModel> LoadModelAsync(Guid modelId, CancellationToken cancellationToken = default)
    {
        LoadedModel model = await _cache.GetOrLoadAsync(modelId, _load, cancellationToken).ConfigureAwait(false);
        return AutoencoderModel.FromWeights(model.Weights);
    }

    /// <summary>Everything known about one model.</summary>
    /// <param name="modelId">The model.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The information.</returns>
    public async Task<ModelInfo> GetModelInfoAsync(Guid modelId, CancellationToken cancellationToken = default)
    {
        ModelRecord record = await _store.GetModelAsync(modelId, cancellationToken).ConfigureAwait(false) ?? throw new ModelNotFoundException(modelId);
        return Describe(record);
    }

    /// <summary>Every model, ordered by AgeMin, then creation.</summary>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The models.</returns>
    public async Task<IReadOnlyList<ModelInfo>> ListModelsAsync(CancellationToken cancellationToken = default)
    {
        IReadOnlyList<ModelRecord> records = await _store.ListModelsAsync(cancellationToken).ConfigureAwait(false);
        return [.. records.Select(Describe)];
    }

    /// <summary>Makes a model the active one of its range (rolling back or forward between versions).</summary>
    /// <param name="modelId">The model.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the change is stored.</returns>
    public async Task ActivateAsync(Guid modelId, CancellationToken cancellationToken = default)
    {
        try
        {
            if (!await _store.ActivateModelAsync(modelId, cancellationToken).ConfigureAwait(false))
            {
                throw new ModelNotFoundException(modelId);
            }
        }
        finally
        {
            _router.Invalidate();
        }

        ManagerLog.ModelActivated(_logger, modelId);
    }

    /// <summary>Stops a model from being used for scoring by age.</summary>
    /// <param name="modelId">The model.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the change is stored.</returns>
    public async Task DeactivateAsync(Guid modelId, CancellationToken cancellationToken = default)
    {
        try
        {
            if (!await _store.DeactivateModelAsync(modelId, cancellationToken).ConfigureAwait(false))
            {
                throw new ModelNotFoundException(modelId);
            }
        }
        finally
        {
            _router.Invalidate();
        }

        ManagerLog.ModelDeactivated(_logger, modelId);
    }

    /// <summary>Deletes a model's record, then its checkpoint file, and drops it from the cache.</summary>
    /// <param name="modelId">The model.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the model is gone.</returns>
    public async Task DeleteAsync(Guid modelId, CancellationToken cancellationToken = default)
    {
        ModelRecord record = await _store.GetModelAsync(modelId, cancellationToken).ConfigureAwait(false) ?? throw new ModelNotFoundException(modelId);
        try
        {
            await _store.DeleteModelAsync(modelId, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _router.Invalidate();
            _cache.Remove(modelId);
        }

        _checkpoints.Delete(record.CheckpointPath);
        ManagerLog.ModelDeleted(_logger, modelId);
    }

    /// <summary>Drops every loaded model; the next use loads again from store and checkpoint.</summary>
    public void ClearModelCache()
    {
        _cache.Clear();
        _router.Invalidate();
        ManagerLog.CacheCleared(_logger);
    }

    /// <summary>
    /// Deletes checkpoint files that no record points to and temporary files, both only when older
    /// than <paramref name="gracePeriod"/> (a file another process is about to record is young).
    /// </summary>
    /// <param name="gracePeriod">Minimum age of a file before it is removed; null for 10 minutes.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>How many checkpoint files were removed.</returns>
    public async Task<int> RemoveOrphanedCheckpointsAsync(TimeSpan? gracePeriod = null, CancellationToken cancellationToken = default)
    {
        TimeSpan grace = gracePeriod ?? TimeSpan.FromMinutes(10);
        DateTime cutoff = DateTime.UtcNow - grace;
        IReadOnlyList<string> files = _checkpoints.ListFiles();
        HashSet<string> referenced = [.. (await _store.ListModelsAsync(cancellationToken).ConfigureAwait(false)).Select(m => m.CheckpointPath)];
        int removed = 0;
        foreach (string file in files.Where(f => !referenced.Contains(f)))
        {
            if (File.GetLastWriteTimeUtc(Path.Combine(_checkpoints.RootDirectory, file)) <= cutoff)
            {
                _checkpoints.Delete(file);
                removed++;
            }
        }

        int temporary = _checkpoints.CleanupTemporaryFiles(grace);
        ManagerLog.OrphansRemoved(_logger, removed, temporary);
        return removed;
    }

    private static float[][] TrainingSet(IReadOnlyList<SampleRecord> samples, double ageMin, double ageMax, TrainingConfig config)
    {
        string range = string.Create(CultureInfo.InvariantCulture, $"[{ageMin}, {ageMax}]");
        int required = AutoencoderTrainer.MinimumRows(config.ValidationSplit);
        if (samples.Count == 0)
        {
            throw new InsufficientSamplesException($"No samples have an age in {range}; add samples for this range before training.", 0, required);
        }

        if (samples.Count < required)
        {
            throw new InsufficientSamplesException(
                string.Create(CultureInfo.InvariantCulture, $"Only {samples.Count} samples have an age in {range}; at least {required} are needed to keep one for validation."),
                samples.Count,
                required);
        }

        var dimensions = samples.GroupBy(s => s.Embedding.Length).Select(g => $"{g.Key} ({g.Count()} samples)").ToArray();
        if (dimensions.Length > 1)
        {
            throw new InvalidEmbeddingException($"The samples in {range} have mixed embedding dimensions: {string.Join(", ", dimensions)}; one model needs one dimension.");
        }

        return [.. samples.Select(s => s.Embedding)];
    }

    private async ValueTask<ScoreResult> ScoreSlowAsync(ReadOnlyMemory<float> embedding, double age, CancellationToken cancellationToken)
    {
        ModelRecord record = await _router.ForAgeAsync(age, cancellationToken).ConfigureAwait(false) ?? throw new NoModelForAgeException(age);
        LoadedModel model = await _cache.GetOrLoadAsync(record.Id, _load, cancellationToken).ConfigureAwait(false);
        return ScoreWith(model, embedding.Span);
    }

    private ScoreResult ScoreWith(LoadedModel model, ReadOnlySpan<float> embedding)
    {
        CheckEmbedding(model, embedding);
        double loss;
        ImmutableArray<SegmentLoss> segmentLosses = [];
        if (_segments.Length == 0)
        {
            loss = model.Kernel.ReconstructionError(embedding);
        }
        else
        {
            Span<double> perSegment = stackalloc double[_segments.Length];
            loss = model.Kernel.ReconstructionError(embedding, _segments, perSegment);
            var builder = ImmutableArray.CreateBuilder<SegmentLoss>(_segments.Length);
            for (int s = 0; s < _segments.Length; s++)
            {
                builder.Add(new SegmentLoss(_segments[s].Name, perSegment[s]));
            }

            segmentLosses = builder.MoveToImmutable();
        }

        return Result(model, loss, segmentLosses);
    }

    private void ScoreRows(LoadedModel model, IReadOnlyList<float[]> embeddings, List<int> rows, ScoreResult[] results)
    {
        if (_segments.Length > 0)
        {
            foreach (int i in rows)
            {
                results[i] = ScoreWith(model, Checked(model, embeddings[i], i));
            }

            return;
        }

        int dimension = model.Kernel.InputSize;
        float[] block = GC.AllocateUninitializedArray<float>(rows.Count * dimension); // every value is overwritten below
        CheckAndCopyRows(model, embeddings, rows, block);

        var errors = new double[rows.Count];
        model.Kernel.ReconstructionErrors(block, errors);
        for (int r = 0; r < rows.Count; r++)
        {
            results[rows[r]] = Result(model, errors[r], []);
        }
    }

    /// <summary>
    /// Checks every row and copies it into <paramref name="block"/>; large batches do this on all
    /// cores (it streams the whole batch through memory once). A bad row is reported as a
    /// sequential check would: the lowest-numbered one.
    /// </summary>
    private void CheckAndCopyRows(LoadedModel model, IReadOnlyList<float[]> embeddings, List<int> rows, float[] block)
    {
        const int RowsPerChunk = 64;
        int dimension = model.Kernel.InputSize;
        int chunks = (rows.Count + RowsPerChunk - 1) / RowsPerChunk;
        if (chunks < 4)
        {
            for (int r = 0; r < rows.Count; r++)
            {
                Checked(model, embeddings[rows[r]], rows[r]).CopyTo(block, r * dimension);
            }

            return;
        }

        int firstBad = int.MaxValue;
        Parallel.For(0, chunks, chunk =>
        {
            int end = Math.Min(rows.Count, (chunk + 1) * RowsPerChunk);
            for (int r = chunk * RowsPerChunk; r < end; r++)
            {
                float[]? row = embeddings[rows[r]];
                if (row is null || row.Length != dimension || !EmbeddingMatrix.IsAllFinite(row))
                {
                    InterlockedMin(ref firstBad, r);
                    return;
                }

                row.CopyTo(block, r * dimension);
            }
        });

        if (firstBad != int.MaxValue)
        {
            Checked(model, embeddings[rows[firstBad]], rows[firstBad]); // throws the row's own exception
        }
    }

    private static void InterlockedMin(ref int target, int value)
    {
        int current = Volatile.Read(ref target);
        while (value < current)
        {
            int seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    private float[] Checked(LoadedModel model, float[]? embedding, int row)
    {
        if (embedding is null)
        {
            throw new InvalidEmbeddingException($"Row {row} is null.", row);
        }

        try
        {
            CheckEmbedding(model, embedding);
        }
        catch (InvalidEmbeddingException ex)
        {
            throw new InvalidEmbeddingException($"Row {row}: {ex.Message}", row);
        }

        return embedding;
    }

    private void CheckEmbedding(LoadedModel model, ReadOnlySpan<float> embedding)
    {
        int dimension = model.Kernel.InputSize;
        if (embedding.Length != dimension)
        {
            throw new InvalidEmbeddingException(
                embedding.IsEmpty
                    ? $"The embedding is empty; model {model.Record.Id} takes {dimension} values."
                    : $"The embedding has {embedding.Length} values but model {model.Record.Id} takes {dimension}.");
        }

        EmbeddingMatrix.EnsureFinite(embedding, dimension, "Embedding");
        foreach (EmbeddingSegment segment in _segments)
        {
            if (segment.End > dimension)
            {
                throw new ModelManagerException($"Segment '{segment.Name}' ends at {segment.End}, beyond the {dimension} values model {model.Record.Id} takes.");
            }
        }
    }

    private static ScoreResult Result(LoadedModel model, double loss, ImmutableArray<SegmentLoss> segments) => new()
    {
        ModelId = model.Record.Id,
        AgeMin = model.Record.AgeMin,
        AgeMax = model.Record.AgeMax,
        ReconstructionLoss = loss,
        Threshold = model.Record.Threshold,
        PercentileRank = model.Parameters.Metrics.RankOf(loss),
        SegmentLosses = segments,
    };

    private async Task<LoadedModel> LoadAsync(Guid id)
    {
        var watch = Stopwatch.StartNew();
        try
        {
            // Shared by every caller waiting for this model, so no single caller's token applies.
            ModelRecord record = await _store.GetModelAsync(id, CancellationToken.None).ConfigureAwait(false)
                ?? throw new ModelLoadingException(id, ModelLoadFailure.UnknownModel, "no model record has this id (never trained, or deleted).");
            (ModelParameters parameters, ModelWeights weights) = await ReadParametersAndCheckpointAsync(record).ConfigureAwait(false);
            if (weights.Architecture.InputSize != record.EmbeddingDimension)
            {
                throw new ModelLoadingException(id, ModelLoadFailure.ArchitectureMismatch, $"the checkpoint takes {weights.Architecture.InputSize} values but the record says {record.EmbeddingDimension}.");
            }

            var loaded = new LoadedModel(record, parameters, weights, _options.SplitSingleScoresAcrossCores);
            ManagerLog.ModelLoaded(_logger, id, watch.Elapsed.TotalMilliseconds);
            return loaded;
        }
        catch (ModelLoadingException ex)
        {
            ManagerLog.ModelLoadFailed(_logger, id, ex.Reason, ex);
            throw;
        }
    }

    /// <summary>
    /// The record's parameters and its verified checkpoint, using two cores: the JSON is parsed and
    /// the file hashed on pool threads while this thread reads and parses the file. Problems are
    /// reported in the order of a sequential load: parameters, missing file, checksum, file content.
    /// </summary>
    private async Task<(ModelParameters Parameters, ModelWeights Weights)> ReadParametersAndCheckpointAsync(ModelRecord record)
    {
        Guid id = record.Id;
        Task<ModelParameters> parameters = Task.Run(() => ModelParameters.Parse(id, record.ParametersJson));
        byte[] bytes;
        try
        {
            bytes = _checkpoints.ReadFile(id, record.CheckpointPath);
        }
        catch (ModelLoadingException)
        {
            await parameters.ConfigureAwait(false); // a parameters problem comes first
            throw;
        }

        Task<string> hash = Task.Run(() => CheckpointStore.Sha256(bytes));
        ModelParameters parsed = await parameters.ConfigureAwait(false); // on failure the hash just finishes unobserved

        ModelWeights? weights = null;
        ModelLoadingException? contentError = null;
        try
        {
            weights = CheckpointStore.Parse(id, bytes, parsed.Shape);
        }
        catch (ModelLoadingException ex)
        {
            contentError = ex;
        }

        CheckpointStore.VerifyHash(id, await hash.ConfigureAwait(false), record.CheckpointSha256);
        if (contentError is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(contentError);
        }

        return (parsed, weights!);
    }

    private static ModelInfo Describe(ModelRecord record)
    {
        ModelParameters p = ModelParameters.Parse(record.Id, record.ParametersJson);
        return new ModelInfo
        {
            Id = record.Id,
            AgeMin = record.AgeMin,
            AgeMax = record.AgeMax,
            ModelType = record.ModelType,
            EmbeddingDimension = record.EmbeddingDimension,
            SampleCount = record.SampleCount,
            Threshold = record.Threshold,
            CreatedUtc = record.CreatedUtc,
            IsActive = record.IsActive,
            Architecture = p.Architecture,
            Config = p.Config,
            Metrics = p.Metrics,
            History = p.History,
            BestValidationLoss = p.BestValidationLoss,
            ThresholdPolicy = p.ThresholdPolicy,
        };
    }

    private sealed class RelayProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
