using AgeGroupAnomaly.Modeling;

namespace AgeGroupAnomaly.Training;

/// <summary>
/// What the epoch loop of <see cref="AutoencoderTrainer"/> needs from whatever runs the model:
/// one optimisation step on a batch, a loss in eval mode, and a copy of the weights.
/// </summary>
internal interface ITrainingEngine : IDisposable
{
    /// <summary>Adam's current learning rate (the plateau schedule changes it between epochs).</summary>
    double LearningRate { get; set; }

    /// <summary>Forward in training mode, MSE loss, backward, clipping, Adam step; returns the batch's loss.</summary>
    /// <param name="rows">Indices of the batch's rows in the training data.</param>
    /// <param name="maxGradientNorm">Global gradient-norm limit.</param>
    double TrainBatch(ReadOnlySpan<int> rows, double maxGradientNorm);

    /// <summary>MSE loss of the batch in eval mode (no dropout, no gradient).</summary>
    /// <param name="rows">Indices of the batch's rows in the training data.</param>
    double EvaluateBatch(ReadOnlySpan<int> rows);

    /// <summary>The mean of <see cref="EvaluateBatch"/> over consecutive batches of <paramref name="rows"/>, equal to evaluating them one by one.</summary>
    /// <param name="rows">Indices of the rows in the training data.</param>
    /// <param name="batchSize">Rows per batch (the last may be shorter).</param>
    double MeanBatchLoss(ReadOnlySpan<int> rows, int batchSize) => BatchByBatch(this, rows, batchSize);

    /// <summary><see cref="MeanBatchLoss"/> as the trainer defines it: <see cref="EvaluateBatch"/> batch after batch, the losses' mean.</summary>
    /// <param name="engine">The engine.</param>
    /// <param name="rows">Indices of the rows in the training data.</param>
    /// <param name="batchSize">Rows per batch (the last may be shorter).</param>
    static double BatchByBatch(ITrainingEngine engine, ReadOnlySpan<int> rows, int batchSize)
    {
        double sum = 0;
        int batches = 0;
        for (int start = 0; start < rows.Length; start += Math.Min(batchSize, rows.Length - start))
        {
            sum += engine.EvaluateBatch(rows.Slice(start, Math.Min(batchSize, rows.Length - start)));
            batches++;
        }

        return sum / batches;
    }

    /// <summary>A deep copy of the current weights.</summary>
    ModelWeights Weights();
}
