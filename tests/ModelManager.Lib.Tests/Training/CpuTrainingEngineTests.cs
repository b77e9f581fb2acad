using AgeGroupAnomaly.Modeling;
using AgeGroupAnomaly.Training;
using FluentAssertions;
using NUnit.Framework;
using TorchSharp;

namespace AgeGroupAnomaly.Tests.Training;

/// <summary>
/// The managed CPU training engine and the plateau schedule against TorchSharp's own modules,
/// autograd, clipping and Adam, which they replace on the CPU.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class CpuTrainingEngineTests
{
    [TestCase(1.0, 0.0)]   // the training loop's clip norm: clipping active on most steps
    [TestCase(1e6, 0.0)]   // clipping never active
    [TestCase(1.0, 0.2)]   // dropout: both engines draw the same seeded masks
    public void TrainBatch_MatchesTorchSharpOverManySteps(double maxNorm, double dropout)
    {
        float[] data = [.. TestData.Embeddings(64, 24, seed: 5).SelectMany(r => r)];
        var shape = new ArchitectureInfo(24, [12, 6], dropout);
        torch.manual_seed(3);
        using var model = new AutoencoderModel(shape);
        ModelWeights initial = model.ToWeights();
        using var reference = new TorchTrainingEngine(model, data, 24, torch.CPU, 0.01, dropoutSeed: 9);
        using var managed = new CpuTrainingEngine(initial, data, 64, 0.01, dropoutSeed: 9, threads: 2);
        int[] rows = [.. Enumerable.Range(0, 64)];

        for (int step = 0; step < 25; step++)
        {
            int[] batch = rows[(step % 4 * 16)..((step % 4 * 16) + 16)];
            double expectedLoss = reference.TrainBatch(batch, maxNorm);
            double actualLoss = managed.TrainBatch(batch, maxNorm);
            actualLoss.Should().BeApproximately(expectedLoss, 1e-5 * expectedLoss, $"the loss of step {step}");
        }

        float[] expected = Flatten(reference.Weights());
        float[] actual = Flatten(managed.Weights());
        expected.Should().NotEqual(Flatten(initial), "the steps must have moved the weights");
        for (int i = 0; i < expected.Length; i++)
        {
            actual[i].Should().BeApproximately(expected[i], 2e-5f + (Math.Abs(expected[i]) * 2e-5f), $"parameter value {i}");
        }

        managed.EvaluateBatch(rows).Should().BeApproximately(reference.EvaluateBatch(rows), 1e-5 * reference.EvaluateBatch(rows));
    }

    [Test]
    public void TrainBatch_GivesBitIdenticalWeightsWhateverTheThreadCount()
    {
        // Wide enough that the products are split across threads.
        float[] data = [.. TestData.Embeddings(64, 520, seed: 2).SelectMany(r => r)];
        torch.manual_seed(4);
        using var model = new AutoencoderModel(new ArchitectureInfo(520, [260, 40], 0.1));
        ModelWeights initial = model.ToWeights();
        using var one = new CpuTrainingEngine(initial, data, 64, 0.001, dropoutSeed: 1, threads: 1);
        using var two = new CpuTrainingEngine(initial, data, 64, 0.001, dropoutSeed: 1, threads: 2);
        int[] rows = [.. Enumerable.Range(0, 64)];

        for (int step = 0; step < 3; step++)
        {
            one.TrainBatch(rows, 1.0).Should().Be(two.TrainBatch(rows, 1.0));
        }

        two.Weights().BitwiseEquals(one.Weights()).Should().BeTrue();
    }

    [Test]
    public void TrainBatch_WithLearningRateZero_LeavesTheWeightsAlone()
    {
        float[] data = [.. TestData.Embeddings(4, 8, seed: 1).SelectMany(r => r)];
        using var model = new AutoencoderModel(new ArchitectureInfo(8, [4], 0));
        ModelWeights initial = model.ToWeights();
        using var engine = new CpuTrainingEngine(initial, data, 4, 0.001, dropoutSeed: 1, threads: 1) { LearningRate = 0 };

        engine.TrainBatch([0, 1, 2, 3], 1.0);

        engine.Weights().BitwiseEquals(initial).Should().BeTrue();
    }

    [Test]
    public void PlateauSchedule_MatchesTorchSharpsReduceLROnPlateau()
    {
        double[] losses = [1.0, 0.9, 0.9, 0.95, 0.91, 0.9, 0.9, 0.9, 0.9, 0.89999, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, double.NaN, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4];
        using var model = new AutoencoderModel(new ArchitectureInfo(4, [2], 0));
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

    private static float[] Flatten(ModelWeights weights) => [.. weights.Layers.SelectMany(l => l.Weight.Concat(l.Bias))];
}
