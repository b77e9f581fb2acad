using AgeGroupAnomaly.Modeling;
using AgeGroupAnomaly.Scoring;
using FluentAssertions;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests.Scoring;

/// <summary>Single scores split across two cores (<see cref="SecondCore"/>) against one core.</summary>
[TestFixture]
[NonParallelizable]
public sealed class SecondCoreTests
{
    private static readonly ModelWeights Weights = RandomWeights(new ModelArchitecture(200, [60, 13], 0.1), seed: 3);

    [Test]
    public void SplitScores_EqualOneCoreScoresBitForBit_AndUseTheHelper()
    {
        var oneCore = new InferenceKernel(Weights);
        var twoCores = new InferenceKernel(Weights) { UseSecondCore = true };
        float[][] rows = TestData.Embeddings(300, 200, seed: 8);
        long jobsBefore = SecondCore.Shared.JobsRun;

        double[] expected = [.. rows.Select(r => oneCore.ReconstructionError(r))];
        double[] actual = [.. rows.Select(r => twoCores.ReconstructionError(r))];

        actual.Should().Equal(expected);
        (SecondCore.Shared.JobsRun - jobsBefore).Should().BeGreaterThan(100, "back-to-back scores find the helper awake");
    }

    [Test]
    public void SplitScores_FromFourThreadsAtOnce_EqualOneCoreScores()
    {
        var oneCore = new InferenceKernel(Weights);
        var twoCores = new InferenceKernel(Weights) { UseSecondCore = true };
        float[][] rows = TestData.Embeddings(64, 200, seed: 9);
        double[] expected = [.. rows.Select(r => oneCore.ReconstructionError(r))];

        var mismatches = 0;
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, worker =>
        {
            for (int i = 0; i < 2000; i++)
            {
                int row = (i + (worker * 17)) % rows.Length;
                if (twoCores.ReconstructionError(rows[row]) != expected[row])
                {
                    Interlocked.Increment(ref mismatches);
                }
            }
        });

        mismatches.Should().Be(0);
    }

    [Test]
    public void SplitScores_AfterTheHelperFellAsleep_StayCorrectAndWakeIt()
    {
        var oneCore = new InferenceKernel(Weights);
        var twoCores = new InferenceKernel(Weights) { UseSecondCore = true };
        float[][] rows = TestData.Embeddings(8, 200, seed: 10);
        twoCores.ReconstructionError(rows[0]);
        Thread.Sleep(SecondCore.SpinTime * 20); // long past its spin time: asleep
        long jobsBefore = SecondCore.Shared.JobsRun;

        var watch = System.Diagnostics.Stopwatch.StartNew();
        int calls = 0;
        while (SecondCore.Shared.JobsRun == jobsBefore && watch.Elapsed < TimeSpan.FromSeconds(5))
        {
            twoCores.ReconstructionError(rows[calls % 8]).Should().Be(oneCore.ReconstructionError(rows[calls % 8]));
            calls++;
        }

        (SecondCore.Shared.JobsRun - jobsBefore).Should().BeGreaterThan(0, "the first call wakes it for the later ones");
        twoCores.ReconstructionError(rows[1]).Should().Be(oneCore.ReconstructionError(rows[1]));
    }

    private static ModelWeights RandomWeights(ModelArchitecture architecture, int seed)
    {
        var rng = new Random(seed);
        return new ModelWeights(architecture, [.. architecture.Layers.Select(l => new LayerWeights(
            [.. Enumerable.Range(0, l.InputSize * l.OutputSize).Select(_ => (float)(rng.NextDouble() - 0.5) / 8)],
            [.. Enumerable.Range(0, l.OutputSize).Select(_ => (float)(rng.NextDouble() - 0.5) / 8)]))]);
    }
}
