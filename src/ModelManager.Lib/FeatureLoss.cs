namespace AgeGroupAnomaly;

/// <summary>One feature's share of a reconstruction loss.</summary>
/// <param name="Index">Position of the feature in the embedding.</param>
/// <param name="SquaredError">Its squared reconstruction error (the loss is the mean of these over all features).</param>
public readonly record struct FeatureLoss(int Index, double SquaredError);
