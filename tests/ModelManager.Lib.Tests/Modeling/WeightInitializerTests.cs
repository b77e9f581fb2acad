using AgeGroupAnomaly.Modeling;
using FluentAssertions;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests.Modeling;

public sealed class WeightInitializerTests
{
    private static readonly ArchitectureInfo Shape = new(64, [32, 8], 0.1);

    [Test]
    public void Initialize_DrawsEveryValueWithinPlusMinusOneOverSqrtFanIn_AndFillsThatRange()
    {
        ModelWeights weights = WeightInitializer.Initialize(Shape, seed: 7);

        for (int l = 0; l < Shape.Layers.Count; l++)
        {
            float bound = (float)(1 / Math.Sqrt(Shape.Layers[l].InputSize));
            float[] values = [.. weights.Layers[l].Weight, .. weights.Layers[l].Bias];
            values.Should().OnlyContain(v => Math.Abs(v) <= bound, $"layer {Shape.Layers[l].Name} is uniform in ±{bound}");
            values.Max().Should().BeGreaterThan(0.8f * bound, "a uniform draw reaches near the upper bound");
            values.Min().Should().BeLessThan(-0.8f * bound, "and near the lower bound");
            Math.Abs(values.Average()).Should().BeLessThan(0.1f * bound, "it is centred on 0");
        }
    }

    [Test]
    public void Initialize_SameSeedGivesTheSameWeights_AnotherSeedOthers()
    {
        WeightInitializer.Initialize(Shape, seed: 7).BitwiseEquals(WeightInitializer.Initialize(Shape, seed: 7)).Should().BeTrue();
        WeightInitializer.Initialize(Shape, seed: 7).BitwiseEquals(WeightInitializer.Initialize(Shape, seed: 8)).Should().BeFalse();
    }
}
