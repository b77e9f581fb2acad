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
        Losses(model, embeddings, rows, [], 0);

    private double[] Losses(LoadedModel model, IReadOnlyList<ReadOnlyMemory<float>> embeddings, IReadOnlyList<int> rows, FeatureLoss[] top, int topLength, Action<double[], int, int>? chunkDone = null)
    {
        if (rows.Count > 0)
        {
            Checked(model, embeddings[rows[0]].Span, rows[0]); // also checks the segments against the model
        }

        // Each chunk of the kernel checks and gathers its own rows: no copy of the whole batch first.
        var errors = new double[rows.Count];
        int bad = model.Kernel.CheckedReconstructionLosses(embeddings, rows, errors, top, topLength, chunkDone is null ? null : (first, length) => chunkDone(errors, first, length));
        if (bad >= 0)
        {
            Checked(model, embeddings[rows[bad]].Span, rows[bad]); // throws the lowest bad row's own exception
            throw new System.Diagnostics.UnreachableException($"Row {rows[bad]} failed the kernel's check but passed the scorer's (was the embedding changed while it was scored?).");
        }

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

        // Rented, not allocated: 4,096 rows × 3 features would be a large-object-heap array per batch.
        FeatureLoss[] top = perRow == 0 ? [] : System.Buffers.ArrayPool<FeatureLoss>.Shared.Rent(rows.Count * perRow);
        try
        {
            // Results are made by the chunk that computed the errors (on both cores); a non-finite
            // error is left for Losses to throw about, in row order, after every chunk.
            Losses(model, embeddings, rows, top, rows.Count * perRow, (errors, first, length) =>
            {
                for (int r = first; r < first + length; r++)
                {
                    if (double.IsFinite(errors[r]))
                    {
                        results[rows[r]] = Result(model, errors[r], [], perRow == 0 ? [] : top.AsSpan(r * perRow, perRow).ToArray());
                    }
                }
            });
        }
        finally
        {
            if (perRow > 0)
            {
                System.Buffers.ArrayPool<FeatureLoss>.Shared.Return(top);
            }
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
