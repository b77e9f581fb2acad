namespace AgeGroupAnomaly.Training;

/// <summary>
/// PyTorch's ReduceLROnPlateau for mode "min" with its defaults (relative threshold 1e-4, no
/// cooldown, no minimum rate, eps 1e-8), driving a learning rate held outside a TorchSharp
/// optimizer (the fused step keeps its own). Tests compare it with TorchSharp's scheduler.
/// </summary>
internal sealed class PlateauSchedule(double learningRate, double factor, int patience)
{
    private const double Threshold = 1e-4;
    private const double Epsilon = 1e-8;

    private double _best = double.PositiveInfinity;
    private int _badEpochs;

    public double LearningRate { get; private set; } = learningRate;

    /// <summary>Records one epoch's metric and returns the learning rate for the next epoch.</summary>
    public double Step(double metric)
    {
        if (metric < _best * (1 - Threshold))
        {
            _best = metric;
            _badEpochs = 0;
        }
        else
        {
            _badEpochs++;
        }

        if (_badEpochs > patience)
        {
            double reduced = LearningRate * factor;
            if (LearningRate - reduced > Epsilon)
            {
                LearningRate = reduced;
            }

            _badEpochs = 0;
        }

        return LearningRate;
    }
}
