using AgeGroupAnomaly.Modeling;
using FluentAssertions;
using NUnit.Framework;
using TorchSharp;

namespace AgeGroupAnomaly.Tests.Modeling;

[TestFixture]
[NonParallelizable]
public sealed class AutoencoderModelTests
{
    [Test]
    public void Architecture_Of832To256_128_64_32_Has513760TrainableParameters()
    {
        using var model = new AutoencoderModel(832, [256, 128, 64, 32]);

        ArchitectureInfo info = model.Architecture;

        info.InputSize.Should().Be(832);
        info.HiddenSizes.Should().Equal(256, 128, 64, 32);
        info.TotalParameters.Should().Be(513_760);
        info.TrainableParameters.Should().Be(513_760);
        model.parameters().Sum(p => p.numel()).Should().Be(info.TotalParameters, "the live module holds exactly the counted parameters");
        model.parameters().Where(p => p.requires_grad).Sum(p => p.numel()).Should().Be(info.TrainableParameters);
    }

    [Test]
    public void ParameterNames_AreTheOriginalModulesStateDictKeys()
    {
        using var model = new AutoencoderModel(10, [8, 6, 4]);

        string[] names = [.. model.named_parameters().Select(p => p.name)];

        names.Should().Equal(
            "encoder.0.weight", "encoder.0.bias", "encoder.3.weight", "encoder.3.bias", "encoder.6.weight", "encoder.6.bias",
            "decoder.0.weight", "decoder.0.bias", "decoder.3.weight", "decoder.3.bias", "decoder.6.weight", "decoder.6.bias");
        model.Architecture.Layers.Select(l => l.WeightName).Should().Equal(names.Where(n => n.EndsWith(".weight", StringComparison.Ordinal)));
    }

    [Test]
    public void Children_AreLinearReluDropoutInOrder()
    {
        using var model = new AutoencoderModel(10, [8, 4], dropout: 0.25);

        string[] modules = [.. model.named_modules().Select(m => $"{m.name}:{m.module.GetName()}")];

        modules.Should().Contain(["encoder.0:Linear", "encoder.1:ReLU", "encoder.2:Dropout", "encoder.3:Linear", "decoder.0:Linear", "decoder.3:Linear"]);
        modules.Should().NotContain(m => m.StartsWith("decoder.4", StringComparison.Ordinal));
    }

    [Test]
    public void EncodeThenDecode_EqualsForward_InEvalMode()
    {
        torch.manual_seed(3);
        using var model = new AutoencoderModel(12, [8, 4]);
        model.eval();
        using var x = torch.randn(5, 12);

        using var latent = model.encode(x);
        using var viaParts = model.decode(latent);
        using var direct = model.forward(x);

        latent.shape.Should().Equal(5, 4);
        viaParts.data<float>().ToArray().Should().Equal(direct.data<float>().ToArray());
    }

    [Test]
    public void ToWeightsThenFromWeights_ReproducesTheParametersBitForBit()
    {
        torch.manual_seed(5);
        using var model = new AutoencoderModel(12, [8, 4]);
        ModelWeights weights = model.ToWeights();

        using var copy = AutoencoderModel.FromWeights(weights);

        copy.ToWeights().BitwiseEquals(weights).Should().BeTrue();
        copy.training.Should().BeFalse();
    }

    [Test]
    public void Constructor_WithEmptyHiddenSizes_ThrowsNamingTheField()
    {
        FluentActions.Invoking(() => new AutoencoderModel(12, [])).Should().Throw<ArgumentException>().WithParameterName("HiddenSizes");
    }

    [TestCase(0.1)]
    [TestCase(0.5)]
    public void SeededDropout_DropsTheConfiguredShareAndScalesTheRest(double probability)
    {
        using var dropout = new SeededDropout(probability);
        dropout.Seed(new MathNet.Numerics.Random.Xoshiro256StarStar(1, threadSafe: false));
        dropout.train();
        using var ones = torch.ones(200, 500);

        using var result = dropout.forward(ones);
        float[] values = result.data<float>().ToArray();

        float keepScale = (float)(1 / (1 - probability));
        values.Should().OnlyContain(v => v == 0f || v == keepScale);
        double dropped = values.Count(v => v == 0f) / (double)values.Length;
        dropped.Should().BeApproximately(probability, 0.01, "100,000 units give the share to within a few tenths of a percent");
    }

    [Test]
    public void SeededDropout_InEvalMode_IsTheIdentity()
    {
        using var dropout = new SeededDropout(0.5);
        dropout.Seed(new MathNet.Numerics.Random.Xoshiro256StarStar(1, threadSafe: false));
        dropout.eval();
        using var x = torch.arange(10, dtype: torch.float32);

        using var result = dropout.forward(x);

        result.data<float>().ToArray().Should().Equal(x.data<float>().ToArray());
    }
}
