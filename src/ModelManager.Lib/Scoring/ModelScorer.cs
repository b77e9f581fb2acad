using AgeGroupAnomaly.Compute;
using System.Collections.Immutable;
using AgeGroupAnomaly.Telemetry;

namespace AgeGroupAnomaly.Scoring;

/// <summary>
/// Turns embeddings into <see cref="ScoreResult"/>s against a loaded model: checks each embedding
/// (length, finite values), computes the reconstruction error (and per-segment errors) and reads
/// the threshold and percentile rank from the model's calibration.
/// </summary>
internal sealed class ModelScorer(IReadOnlyList<EmbeddingSegment> segments, int topFeatures = 0, ModelManagerTelemetry? telemetry = null)
{
    private const int RowsPerCheckChunk = 64;

    private readonly EmbeddingSegment[] _segments = [.. segments];

    public ScoreResult Score(LoadedModel model, ReadOnlySpan<float> embedding)
    {
        long start = telemetry?.ScoreStart() ?? 0;
        ScoreResult result = ScoreOne(model, embedding);
        telemetry?.Scored(model.AgeRange, 1, result.IsAnomaly ? 1 : 0, start, batch: false);
        return result;
    }

    private ScoreResult ScoreOne(LoadedModel model, ReadOnlySpan<float> embedding)
    {
        Check(model, embedding);
        FeatureLoss[] top = TopArray(model);
        if (_segments.Length == 0)
        {
            return Result(model, model.Kernel.ReconstructionLoss(embedding, [], [], top), [], top);
        }

        Span<double> perSegment = stackalloc double[_segments.Length];
        double loss = model.Kernel.ReconstructionLoss(embedding, _segments, perSegment, top);
        var builder = ImmutableArray.CreateBuilder<SegmentLoss>(_segments.Length);
        for (int s = 0; s < _segments.Length; s++)
        {
            builder.Add(new SegmentLoss(_segments[s].Name, perSegment[s]));
        }

        return Result(model, loss, builder.MoveToImmutable(), top);
    }

    public double Loss(LoadedModel model, ReadOnlySpan<float> embedding)
    {
        Check(model, embedding);
        return Finite(model, model.Kernel.ReconstructionLoss(embedding));
    }

    /// <summary>Errors of the given rows (equal to scoring each alone), after checking every row.</summary>
    public double[] Losses(LoadedModel model, IReadOnlyList<ReadOnlyMemory<float>> embeddings, IReadOnlyList<int> rows) =>
        Losses(model, embeddings, rows, []);

    private double[] Losses(LoadedModel model, IReadOnlyList<ReadOnlyMemory<float>> embeddings, IReadOnlyList<int> rows, Span<FeatureLoss> top)
    {
        int dimension = model.Kernel.InputSize;
        float[] block = GC.AllocateUninitializedArray<float>(rows.Count * dimension); // every value is overwritten below
        CheckAndCopyRows(model, embeddings, rows, block);
        var errors = new double[rows.Count];
        model.Kernel.ReconstructionLosses(block, errors, top);
        foreach (double error in errors)
        {
            Finite(model, error);
        }

        return errors;
    }

    /// <summary>Scores the given rows of a batch into <paramref name="results"/> (same positions).</summary>
    public void ScoreRows(LoadedModel model, IReadOnlyList<ReadOnlyMemory<float>> embeddings, IReadOnlyList<int> rows, ScoreResult[] results)
    {
        long start = telemetry?.ScoreStart() ?? 0;
        ScoreRowsCore(model, embeddings, rows, results);
        if (telemetry is not null && (telemetry.CountsScores || start != 0))
        {
            int anomalies = 0;
            foreach (int i in rows)
            {
                anomalies += results[i].IsAnomaly ? 1 : 0;
            }

            telemetry.Scored(model.AgeRange, rows.Count, anomalies, start, batch: true);
        }
    }

    private void ScoreRowsCore(LoadedModel model, IReadOnlyList<ReadOnlyMemory<float>> embeddings, IReadOnlyList<int> rows, ScoreResult[] results)
    {
        if (_segments.Length > 0)
        {
            foreach (int i in rows)
            {
                results[i] = ScoreOne(model, Checked(model, embeddings[i].Span, i));
            }

            return;
        }

        int perRow = TopCount(model);
        var top = new FeatureLoss[rows.Count * perRow];
        double[] errors = Losses(model, embeddings, rows, top);
        for (int r = 0; r < rows.Count; r++)
        {
            results[rows[r]] = Result(model, errors[r], [], top.AsSpan(r * perRow, perRow).ToArray());
        }
    }

    /// <summary>
    /// Checks every row and copies it into <paramref name="block"/>; large batches do this on both
    /// cores when the manager has its helper thread (it streams the whole batch through memory once). A bad row is reported as a
    /// sequential check would: the lowest-numbered one.
    /// </summary>
    private void CheckAndCopyRows(LoadedModel model, IReadOnlyList<ReadOnlyMemory<float>> embeddings, IReadOnlyList<int> rows, float[] block)
    {
        int dimension = model.Kernel.InputSize;
        int chunks = (rows.Count + RowsPerCheckChunk - 1) / RowsPerCheckChunk;
        if (chunks < 4)
        {
            for (int r = 0; r < rows.Count; r++)
            {
                Checked(model, embeddings[rows[r]].Span, rows[r]).CopyTo(block.AsSpan(r * dimension));
            }

            return;
        }

        int firstBad = int.MaxValue;
        void CheckAndCopy(int chunk)
        {
            int end = Math.Min(rows.Count, (chunk + 1) * RowsPerCheckChunk);
            for (int r = chunk * RowsPerCheckChunk; r < end; r++)
            {
                ReadOnlySpan<float> row = embeddings[rows[r]].Span;
                if (row.Length != dimension || !FiniteValues.IsAllFinite(row))
                {
                    InterlockedMin(ref firstBad, r);
                    return;
                }

                row.CopyTo(block.AsSpan(r * dimension));
            }
        }

        // On the manager's helper thread beside the caller when it has one (never the thread pool).
        if (model.Kernel.SecondCore is not { } helper || !helper.TryForEachChunk(chunks, CheckAndCopy))
        {
            for (int chunk = 0; chunk < chunks; chunk++)
            {
                CheckAndCopy(chunk);
            }
        }

        if (firstBad != int.MaxValue)
        {
            Checked(model, embeddings[rows[firstBad]].Span, rows[firstBad]); // throws the row's own exception
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

    private ReadOnlySpan<float> Checked(LoadedModel model, ReadOnlySpan<float> embedding, int row)
    {
        try
        {
            Check(model, embedding);
        }
        catch (InvalidEmbeddingException ex)
        {
            throw new InvalidEmbeddingException($"Row {row}: {ex.Message}", row);
        }

        return embedding;
    }

    private void Check(LoadedModel model, ReadOnlySpan<float> embedding)
    {
        int dimension = model.Kernel.InputSize;
        if (embedding.Length != dimension)
        {
            throw new InvalidEmbeddingException(
                embedding.IsEmpty
                    ? $"The embedding is empty; model {model.Record.Id} takes {dimension} values."
                    : $"The embedding has {embedding.Length} values but model {model.Record.Id} takes {dimension}.");
        }

        FiniteValues.EnsureFinite(embedding, dimension, "Embedding");
        foreach (EmbeddingSegment segment in _segments)
        {
            long end = (long)segment.Start + segment.Length; // no overflow even for a segment that skipped validation
            if (end > dimension)
            {
                throw new ModelManagerException($"Segment '{segment.Name}' ends at {end}, beyond the {dimension} values model {model.Record.Id} takes.");
            }
        }
    }

    /// <summary>
    /// A loss is never returned as NaN or ±∞ (a NaN loss is never above the threshold, so it would
    /// read as "not an anomaly"). The embedding was checked finite, so only the model can cause it.
    /// Segment losses are parts of the total's sum of squares, so a finite total has finite parts.
    /// </summary>
    private static double Finite(LoadedModel model, double loss) =>
        double.IsFinite(loss) ? loss : throw new NonFiniteScoreException(model.Record.Id, loss);

    private int TopCount(LoadedModel model) => Math.Min(topFeatures, model.Kernel.InputSize);

    private FeatureLoss[] TopArray(LoadedModel model) => TopCount(model) == 0 ? [] : new FeatureLoss[TopCount(model)];

    private static ScoreResult Result(LoadedModel model, double loss, ImmutableArray<SegmentLoss> segments, FeatureLoss[] top) => new()
    {
        ModelId = model.Record.Id,
        AgeMin = model.Record.AgeMin,
        AgeMax = model.Record.AgeMax,
        ReconstructionLoss = Finite(model, loss),
        Threshold = model.Record.Threshold,
        PercentileRank = model.Calibration.RankOf(loss),
        SegmentLosses = segments,
        TopFeatures = System.Runtime.InteropServices.ImmutableCollectionsMarshal.AsImmutableArray(top), // the array is this result's own
    };
}
