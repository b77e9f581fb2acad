using AgeGroupAnomaly.Modeling;
using AgeGroupAnomaly.Training;
using FluentAssertions;
using NUnit.Framework;
using TorchSharp;

namespace AgeGroupAnomaly.Tests.Training;

/// <summary>The fused managed step and schedule against TorchSharp's own, which they replace on the CPU.</summary>
[TestFixture]
[NonParallelizable]
public sealed class OptimizerStepTests
{
    [TestCase(1.0)]   // the training loop's clip norm: clipping active on most steps
    [TestCase(1e6)]   // clipping never active
    public void FusedAdam_MatchesTorchSharpsClipAndAdamOverManySteps(double maxNorm)
    {
        float[][] data = TestData.Embeddings(64, 24, seed: 5);
        using var x = torch.tensor(data.SelectMany(r => r).ToArray(), [64, 24]);
        var shape = new ModelArchitecture(24, [12, 6], 0);
        torch.manual_seed(3);
        using var reference = new AutoencoderModel(shape);
        using var fused = AutoencoderModel.FromWeights(reference.ToWeights());
        reference.train();
        fused.train();
        using var torchStep = new TorchAdamStep(reference.parameters(), 0.01);
        using var fusedStep = new FusedAdam(fused.parameters(), 0.01);
        float[] initial = Flatten(reference.ToWeights());

        for (int step = 0; step < 25; step++)
        {
            Step(reference, torchStep, x, maxNorm);
            Step(fused, fusedStep, x, maxNorm);
        }

        float[] expected = Flatten(reference.ToWeights());
        float[] actual = Flatten(fused.ToWeights());
        expected.Should().NotEqual(initial, "the steps must have moved the weights");
        for (int i = 0; i < expected.Length; i++)
        {
            actual[i].Should().BeApproximately(expected[i], 2e-5f + (Math.Abs(expected[i]) * 2e-5f), $"parameter value {i}");
        }
    }

    [Test]
    public void FusedAdam_UsesTheLearningRateItIsGiven()
    {
        using var model = new AutoencoderModel(new ModelArchitecture(8, [4], 0));
        using var x = torch.ones(4, 8);
        using var step = new FusedAdam(model.parameters(), 0.001) { LearningRate = 0 };
        float[] before = Flatten(model.ToWeights());

        Step(model, step, x, 1.0);

        Flatten(model.ToWeights()).Should().Equal(before);
    }

    [Test]
    public void PlateauSchedule_MatchesTorchSharpsReduceLROnPlateau()
    {
        double[] losses = [1.0, 0.9, 0.9, 0.95, 0.91, 0.9, 0.9, 0.9, 0.9, 0.89999, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, double.NaN, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4];
        using var model = new AutoencoderModel(new ModelArchitecture(4, [2], 0));
        using var adam = torch.optim.Adam(model.parameters(), 0.001);
        var torchSchedule = torch.optim.lr_scheduler.ReduceLROnPlateau(adam, mode: "min", factor: 0.5, patience: 5);
        var schedule = new PlateauSchedule(0.001, factor: 0.5, patience: 5);

        var expected = new List<double>();
        var actual = new List<double>();
        foreach (double loss in losses)
        {
            torchSchedule.step(loss);
            expected.Add(adam.ParamGroups.First().LearningRate);
            actual.Add(schedule.Step(loss));
        }

        actual.Should().Equal(expected);
        actual.Distinct().Should().HaveCountGreaterThan(2, "the sequence should trigger reductions");
    }

    private static void Step(AutoencoderModel model, IOptimizerStep optimizer, torch.Tensor x, double maxNorm)
    {
        using var scope = torch.NewDisposeScope();
        optimizer.ZeroGrad();
        torch.nn.functional.mse_loss(model.forward(x), x).backward();
        optimizer.ClipAndStep(maxNorm);
    }

    private static float[] Flatten(ModelWeights weights) => [.. weights.Layers.SelectMany(l => l.Weight.Concat(l.Bias))];
}
