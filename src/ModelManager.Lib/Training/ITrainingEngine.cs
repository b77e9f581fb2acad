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

    /// <summary>A deep copy of the current weights.</summary>
    ModelWeights Weights();
}
