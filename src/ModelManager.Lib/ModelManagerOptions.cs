using AgeGroupAnomaly.Scoring;
using AgeGroupAnomaly.Training;

namespace AgeGroupAnomaly;

/// <summary>Settings of a <see cref="ModelManager"/>.</summary>
public sealed class ModelManagerOptions
{
    /// <summary>
    /// Folder that holds one checkpoint file per model (a <see cref="Checkpoints.FileCheckpointStore"/>).
    /// Required unless the manager is given an <see cref="Checkpoints.ICheckpointStore"/>.
    /// </summary>
    /// <value>The default is null.</value>
    public string? CheckpointDirectory { get; set; }

    /// <summary>Most models kept loaded at once (least recently used are evicted), at least 1.</summary>
    /// <value>The default is 16.</value>
    public int CacheCapacity { get; set; } = 16;

    /// <summary>Configuration used when a call passes none.</summary>
    /// <value>The default is <see cref="TrainingConfig.Default"/>.</value>
    public TrainingConfig DefaultTrainingConfig { get; set; } = new(); // its own instance: a configuration binder writing into it never changes TrainingConfig.Default

    /// <summary>Named embedding segments whose losses scores also report.</summary>
    /// <value>The default is none.</value>
    public IReadOnlyList<EmbeddingSegment> Segments { get; set; } = [];

    /// <summary>
    /// How long the list of active models used to route scores by age may be reused before it is
    /// read again from the store. Changes made through this manager take effect at once; this only
    /// bounds how long changes made by other processes take to be seen.
    /// </summary>
    /// <value>The default is 2 seconds.</value>
    public TimeSpan ActiveModelsRefreshInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Scores on two cores: a helper thread owned by the manager (ended by its
    /// <see cref="ModelManager.Dispose"/>) computes half of every layer of a single score while the
    /// calling thread computes the other half, each core keeping its half of the weights in its
    /// own cache, and takes chunks of batches beside the caller. The helper spin-waits for up to
    /// 1 ms after each job (a busy core) and then sleeps; a caller that finds it asleep or busy
    /// computes alone, and while single scores overlap (concurrent callers already keep the cores
    /// busy) the helper sleeps and single scores run on their callers' threads alone. Scores are
    /// identical bit for bit either way. Ignored on a single-core machine; when false, batches
    /// run on the caller's thread and thread-pool threads.
    /// </summary>
    /// <value>The default is true.</value>
    public bool SplitSingleScoresAcrossCores { get; set; } = true;

    /// <summary>
    /// Scores with the weight matrices held as bfloat16 (converted at load, rounded to nearest; all
    /// sums in float32). A single score streams half the bytes, which matters once a model's weights
    /// outgrow a core's L2 cache (832 → [256, 128, 64] is 2 MB in float32). The losses change by
    /// about the rounding of the weights (see the README's performance section for the measured
    /// difference and its effect on ROC-AUC); batch scores use the same rounded weights, so batch
    /// and single scores still agree bit for bit. Training is unaffected.
    /// </summary>
    /// <value>The default is false (float32 weights, scores exactly as trained).</value>
    public bool CompactScoringWeights { get; set; }

    /// <summary>
    /// Trainings that run at once, each on a thread the manager owns (never a thread-pool thread);
    /// further trainings wait in order. A CPU training already uses every core, so more than one
    /// mostly helps with <see cref="Training.TrainingConfig.CpuThreads"/> set to a share of them.
    /// </summary>
    /// <value>The default is 1.</value>
    public int MaxConcurrentTrainings { get; set; } = 1;

    /// <summary>
    /// Whether a model may become active (by training or activation) for a range that overlaps
    /// another active model's range by more than a shared boundary age. When false, that is an
    /// <see cref="OverlappingRangeException"/>; when true, it is logged as a warning and shared
    /// ages go to the range with the greater AgeMin, then the newest model. Training exactly an
    /// active model's range always replaces it (logged).
    /// </summary>
    /// <value>The default is false.</value>
    public bool AllowOverlappingRanges { get; set; }

    /// <summary>
    /// How many features each score names as contributing most to its loss
    /// (<see cref="Scoring.ScoreResult.TopFeatures"/>), from 0 (none) to 64. Cheap: one comparison per
    /// feature on top of the forward pass, and a small array per result.
    /// </summary>
    /// <value>The default is 3.</value>
    public int ExplainTopFeatures { get; set; } = 3;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (CheckpointDirectory is not null && string.IsNullOrWhiteSpace(CheckpointDirectory))
        {
            throw new ArgumentException("CheckpointDirectory is blank; give a folder or leave it null.", nameof(CheckpointDirectory));
        }

        if (CacheCapacity < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(CacheCapacity), CacheCapacity, $"CacheCapacity is {CacheCapacity}; it must be at least 1.");
        }

        if (ExplainTopFeatures is < 0 or > 64)
        {
            throw new ArgumentOutOfRangeException(nameof(ExplainTopFeatures), ExplainTopFeatures, $"ExplainTopFeatures is {ExplainTopFeatures}; it must lie in [0, 64].");
        }

        if (MaxConcurrentTrainings < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxConcurrentTrainings), MaxConcurrentTrainings, $"MaxConcurrentTrainings is {MaxConcurrentTrainings}; it must be at least 1.");
        }

        if (ActiveModelsRefreshInterval < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(ActiveModelsRefreshInterval), ActiveModelsRefreshInterval, "ActiveModelsRefreshInterval must not be negative.");
        }

        ArgumentNullException.ThrowIfNull(DefaultTrainingConfig);
        DefaultTrainingConfig.Validate();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (EmbeddingSegment segment in Segments ?? throw new ArgumentNullException(nameof(Segments)))
        {
            if (string.IsNullOrWhiteSpace(segment.Name) || !names.Add(segment.Name))
            {
                throw new ArgumentException($"Segment name '{segment.Name}' is empty or used twice.", nameof(Segments));
            }

            if (segment.Start < 0 || segment.Length < 1)
            {
                throw new ArgumentOutOfRangeException(nameof(Segments), segment, $"Segment '{segment.Name}' needs Start >= 0 and Length >= 1.");
            }

            if ((long)segment.Start + segment.Length > Array.MaxLength)
            {
                throw new ArgumentOutOfRangeException(
                    nameof(Segments),
                    segment,
                    FormattableString.Invariant($"Segment '{segment.Name}' starts at {segment.Start} with {segment.Length} values, ending at {(long)segment.Start + segment.Length}: beyond {Array.MaxLength}, the longest possible embedding."));
            }
        }
    }
}
