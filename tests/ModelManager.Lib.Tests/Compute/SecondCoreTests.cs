using AgeGroupAnomaly.Compute;
using AgeGroupAnomaly.Modeling;
using AgeGroupAnomaly.Scoring;
using FluentAssertions;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests.Compute;

/// <summary>Single scores split across two cores (<see cref="SecondCore"/>) against one core.</summary>
[TestFixture]
[NonParallelizable]
public sealed class SecondCoreTests
{
    private static readonly ModelWeights Weights = RandomWeights(new ArchitectureInfo(200, [60, 13], 0.1), seed: 3);

    // No assertion here depends on timing or on which thread ran: whether TryForward finds the
    // helper awake is the scheduler's business, so the tests force the two-core path with Forward
    // (which waits for the helper) and check results, which must not depend on the path.

    [Test]
    public void Forward_OnTwoCores_EqualsOneCoreBitForBit()
    {
        using var helper = new SecondCore();
        var kernel = new InferenceKernel(Weights);
        float[][] rows = TestData.Embeddings(300, 200, seed: 8);
        var output = new float[200];
        var expected = new float[200];

        foreach (float[] row in rows)
        {
            helper.Forward(kernel, row, output).Should().BeTrue("the helper is free and not disposed");
            kernel.Reconstruct(row, expected);
            output.Should().Equal(expected);
        }

        helper.JobsRun.Should().Be(rows.Length, "every forced score ran its upper halves on the helper");
    }

    [Test]
    public void ReconstructionLoss_WithAHelper_EqualsOneCoreScores_WhicheverPathEachCallTook()
    {
        using var helper = new SecondCore();
        var oneCore = new InferenceKernel(Weights);
        var twoCores = new InferenceKernel(Weights) { SecondCore = helper };
        float[][] rows = TestData.Embeddings(64, 200, seed: 9);
        double[] expected = [.. rows.Select(r => oneCore.ReconstructionLoss(r))];

        var mismatches = 0;
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, worker =>
        {
            for (int i = 0; i < 500; i++)
            {
                int row = (i + (worker * 17)) % rows.Length;
                if (twoCores.ReconstructionLoss(rows[row]) != expected[row])
                {
                    Interlocked.Increment(ref mismatches);
                }
            }
        });

        mismatches.Should().Be(0);
    }

    [Test]
    public void ReconstructionLosses_WithAHelper_EqualOneCoreScoresBitForBit()
    {
        using var helper = new SecondCore();
        var oneCore = new InferenceKernel(Weights);
        var twoCores = new InferenceKernel(Weights) { SecondCore = helper };
        float[][] rows = TestData.Embeddings(500, 200, seed: 11); // several chunks, the last one short
        var batch = new double[rows.Length];

        twoCores.ReconstructionLosses(rows.SelectMany(r => r).ToArray(), batch);

        batch.Should().Equal(rows.Select(r => oneCore.ReconstructionLoss(r)));
    }

    [Test]
    public void TryForEachChunk_RunsEveryChunkOnce()
    {
        using var helper = new SecondCore();
        var runs = new int[37];

        helper.TryForEachChunk(runs.Length, chunk => Interlocked.Increment(ref runs[chunk])).Should().BeTrue("the helper is free");

        runs.Should().OnlyContain(n => n == 1);
    }

    [Test]
    public void TryForEachChunk_AfterDispose_ReturnsFalseAndRunsNothing()
    {
        var helper = new SecondCore();
        helper.Dispose();
        int runs = 0;

        helper.TryForEachChunk(5, _ => Interlocked.Increment(ref runs)).Should().BeFalse();

        runs.Should().Be(0);
    }

    [Test]
    public void Dispose_Twice_ReturnsAtOnce()
    {
        var helper = new SecondCore();
        helper.Dispose();

        FluentActions.Invoking(helper.Dispose).Should().NotThrow();
        helper.HasEnded.Should().BeTrue();
    }

    [Test]
    public void Dispose_EndsTheHelperThread_AndLaterScoresComputeAlone()
    {
        var helper = new SecondCore();
        var oneCore = new InferenceKernel(Weights);
        var twoCores = new InferenceKernel(Weights) { SecondCore = helper };
        float[] row = TestData.Embeddings(1, 200, seed: 10)[0];

        helper.Dispose();

        helper.HasEnded.Should().BeTrue("Dispose joins the thread");
        helper.Forward(twoCores, row, new float[200]).Should().BeFalse("a disposed helper takes no job");
        twoCores.ReconstructionLoss(row).Should().Be(oneCore.ReconstructionLoss(row));
    }

    private static ModelWeights RandomWeights(ArchitectureInfo architecture, int seed)
    {
        var rng = new Random(seed);
        return new ModelWeights(architecture, [.. architecture.Layers.Select(l => new LayerWeights(
            [.. Enumerable.Range(0, l.InputSize * l.OutputSize).Select(_ => (float)(rng.NextDouble() - 0.5) / 8)],
            [.. Enumerable.Range(0, l.OutputSize).Select(_ => (float)(rng.NextDouble() - 0.5) / 8)]))]);
    }
}
