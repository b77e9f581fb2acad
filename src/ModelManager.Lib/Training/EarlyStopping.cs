namespace AgeGroupAnomaly.Training;

/// <summary>
/// The original service's early-stopping rule with explosion recovery. Feed it one validation loss
/// per epoch through <see cref="Step"/>; its state stays observable.
/// </summary>
public sealed class EarlyStopping
{
    /// <summary>A loss this many times the best one counts as an explosion.</summary>
    public const double ExplosionFactor = 1000;

    /// <summary>Extra patience while recovering from an explosion.</summary>
    public const int RecoveryExtraPatience = 5;

    private readonly List<double> _history = [];

    /// <summary>Creates the rule.</summary>
    /// <param name="patience">Epochs without improvement before stopping (at least 0).</param>
    /// <param name="minDelta">Smallest decrease that counts as improvement (at least 0).</param>
    /// <param name="relativeMinDelta">
    /// True to count a loss as an improvement only when it is below the best by
    /// <paramref name="minDelta"/> times the best (a scale-free rule); false for the original's
    /// absolute rule (below the best by <paramref name="minDelta"/>).
    /// </param>
    public EarlyStopping(int patience = 10, double minDelta = 1e-4, bool relativeMinDelta = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(patience);
        if (!(minDelta >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(minDelta), minDelta, $"minDelta is {minDelta}; it must be at least 0.");
        }

        Patience = patience;
        MinDelta = minDelta;
        RelativeMinDelta = relativeMinDelta;
    }

    /// <summary>Whether <see cref="MinDelta"/> is a fraction of the best loss rather than an absolute amount.</summary>
    public bool RelativeMinDelta { get; }

    /// <summary>Epochs without improvement before stopping.</summary>
    public int Patience { get; }

    /// <summary>Smallest decrease that counts as improvement.</summary>
    public double MinDelta { get; }

    /// <summary>Best validation loss so far; +∞ before the first step.</summary>
    public double BestLoss { get; private set; } = double.PositiveInfinity;

    /// <summary>Epochs since the last improvement.</summary>
    public int Counter { get; private set; }

    /// <summary>Whether the last explosion has not yet been followed by an improvement.</summary>
    public bool InRecovery { get; private set; }

    /// <summary>The last answer of <see cref="Step"/>: whether the latest validation loss asked to stop.</summary>
    public bool Stopped { get; private set; }

    /// <summary>Every validation loss seen, in order.</summary>
    public IReadOnlyList<double> History => _history;

    /// <summary>
    /// Records one validation loss and answers by the rule alone: a stop is not sticky, so a later
    /// loss that improves (or falls again after an explosion) answers <see langword="false"/>.
    /// </summary>
    /// <param name="validationLoss">The epoch's validation loss.</param>
    /// <returns>True when training should stop; <see cref="Stopped"/> holds the same answer.</returns>
    public bool Step(double validationLoss)
    {
        Stopped = Decide(validationLoss);
        return Stopped;
    }

    /// <summary>
    /// Restores the state of a new rule: best loss +∞, counter 0, not in recovery, empty history,
    /// not stopped. <see cref="Patience"/> and <see cref="MinDelta"/> stay.
    /// </summary>
    public void Reset()
    {
        _history.Clear();
        BestLoss = double.PositiveInfinity;
        Counter = 0;
        InRecovery = false;
        Stopped = false;
    }

    private bool Decide(double validationLoss)
    {
        double? previous = _history.Count > 0 ? _history[^1] : null;
        _history.Add(validationLoss);

        if (double.IsFinite(BestLoss) && validationLoss > ExplosionFactor * BestLoss)
        {
            InRecovery = true;
            if (previous is { } p && validationLoss < p)
            {
                // Falling again after an explosion: give the run a fresh chance.
                Counter = 0;
                return false;
            }
        }

        double margin = RelativeMinDelta && double.IsFinite(BestLoss) ? MinDelta * Math.Abs(BestLoss) : MinDelta;
        if (validationLoss < BestLoss - margin)
        {
            BestLoss = validationLoss;
            Counter = 0;
            InRecovery = false;
            return false;
        }

        Counter++;
        return Counter >= Patience + (InRecovery ? RecoveryExtraPatience : 0);
    }
}
