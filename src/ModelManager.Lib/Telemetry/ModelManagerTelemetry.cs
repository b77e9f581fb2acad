using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace AgeGroupAnomaly.Telemetry;

/// <summary>
/// The library's metrics and traces: one <see cref="Meter"/> and one <see cref="ActivitySource"/>,
/// both named <see cref="Name"/>, with OpenTelemetry-style instrument names. Tags stay low-cardinality
/// (an age range like "3-5", a failure reason), never a model id. With no listener attached every
/// call here is a flag check, so the scoring hot path pays next to nothing.
/// </summary>
internal sealed class ModelManagerTelemetry : IDisposable
{
    /// <summary>The name of the meter and of the activity source.</summary>
    public const string Name = "ModelManager.Lib";

    public const string AgeRangeTag = "modelmanager.age_range";
    public const string ModeTag = "modelmanager.score.mode";
    public const string OutcomeTag = "modelmanager.training.outcome";
    public const string ErrorTypeTag = "error.type";

    /// <summary>Shared by every manager: listeners subscribe by name, and an idle source costs nothing.</summary>
    public static readonly ActivitySource Activities = new(Name, typeof(ModelManagerTelemetry).Assembly.GetName().Version?.ToString());

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Counter<long> _scores;
    private readonly Counter<long> _anomalies;
    private readonly Histogram<double> _scoreDuration;
    private readonly Histogram<double> _trainingDuration;
    private readonly Histogram<int> _trainingEpochs;
    private readonly Counter<long> _cacheHits;
    private readonly Counter<long> _cacheMisses;
    private readonly Counter<long> _cacheEvictions;
    private readonly Counter<long> _loads;
    private readonly Counter<long> _loadFailures;

    /// <param name="meterFactory">The host's factory (DI); null creates a meter this object owns.</param>
    public ModelManagerTelemetry(IMeterFactory? meterFactory)
    {
        string? version = typeof(ModelManagerTelemetry).Assembly.GetName().Version?.ToString();
        _ownsMeter = meterFactory is null;
        _meter = meterFactory?.Create(new MeterOptions(Name) { Version = version }) ?? new Meter(Name, version);
        _scores = _meter.CreateCounter<long>("modelmanager.scores", "{score}", "Embeddings scored against a model.");
        _anomalies = _meter.CreateCounter<long>("modelmanager.anomalies", "{score}", "Scores above their model's threshold.");
        _scoreDuration = _meter.CreateHistogram<double>("modelmanager.score.duration", "s", "Time to score one embedding (mode single) or one batch's rows of one model (mode batch).");
        _trainingDuration = _meter.CreateHistogram<double>("modelmanager.training.duration", "s", "Time a training took, recording included.");
        _trainingEpochs = _meter.CreateHistogram<int>("modelmanager.training.epochs", "{epoch}", "Epochs a completed training ran.");
        _cacheHits = _meter.CreateCounter<long>("modelmanager.cache.hits", "{lookup}", "Model lookups served by the cache.");
        _cacheMisses = _meter.CreateCounter<long>("modelmanager.cache.misses", "{lookup}", "Model lookups that had to load the model.");
        _cacheEvictions = _meter.CreateCounter<long>("modelmanager.cache.evictions", "{model}", "Models evicted from a full cache.");
        _loads = _meter.CreateCounter<long>("modelmanager.model.loads", "{load}", "Models loaded from the store and checkpoint.");
        _loadFailures = _meter.CreateCounter<long>("modelmanager.model.load_failures", "{load}", "Model loads that failed, by reason (error.type).");
    }

    /// <summary>Whether any listener takes score counts or anomaly counts (the batch path counts anomalies only then).</summary>
    public bool CountsScores => _scores.Enabled || _anomalies.Enabled;

    /// <summary>A timestamp to pass to <see cref="Scored"/>, or 0 when nobody listens to durations (no clock read).</summary>
    public long ScoreStart() => _scoreDuration.Enabled ? Stopwatch.GetTimestamp() : 0;

    public void Scored(string ageRange, int rows, int anomalies, long start, bool batch)
    {
        var range = new KeyValuePair<string, object?>(AgeRangeTag, ageRange);
        _scores.Add(rows, range);
        if (anomalies > 0)
        {
            _anomalies.Add(anomalies, range);
        }

        if (start != 0)
        {
            _scoreDuration.Record(Stopwatch.GetElapsedTime(start).TotalSeconds, range, new KeyValuePair<string, object?>(ModeTag, batch ? "batch" : "single"));
        }
    }

    public void Trained(string ageRange, string outcome, TimeSpan duration, int? epochs)
    {
        var range = new KeyValuePair<string, object?>(AgeRangeTag, ageRange);
        _trainingDuration.Record(duration.TotalSeconds, range, new KeyValuePair<string, object?>(OutcomeTag, outcome));
        if (epochs is { } count)
        {
            _trainingEpochs.Record(count, range);
        }
    }

    public void CacheHit() => _cacheHits.Add(1);

    public void CacheMiss() => _cacheMisses.Add(1);

    public void CacheEviction() => _cacheEvictions.Add(1);

    public void Loaded() => _loads.Add(1);

    public void LoadFailed(string reason) => _loadFailures.Add(1, new KeyValuePair<string, object?>(ErrorTypeTag, reason));

    /// <summary>The tag value for an age range: "min-max" in invariant culture.</summary>
    public static string AgeRange(double ageMin, double ageMax) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{ageMin}-{ageMax}");

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }
}
