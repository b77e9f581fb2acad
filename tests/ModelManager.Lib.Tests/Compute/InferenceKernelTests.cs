using AgeGroupAnomaly.Compute;
using AgeGroupAnomaly.Modeling;
using AgeGroupAnomaly.Scoring;
using FluentAssertions;
using NUnit.Framework;
using TorchSharp;

namespace AgeGroupAnomaly.Tests.Compute;

[TestFixture]
[NonParallelizable]
public sealed class InferenceKernelTests
{
    [TestCase(16, new[] { 8, 4 })]
    [TestCase(37, new[] { 20, 9, 5 })]
    [TestCase(832, new[] { 256, 128, 64 })]
    public void ReconstructionLoss_MatchesTheTorchSharpModelInEvalMode(int input, int[] hidden)
    {
        torch.manual_seed(11);
        using var model = new AutoencoderModel(input, hidden);
        model.eval();
        var kernel = new InferenceKernel(model.ToWeights());
        float[][] rows = TestData.Embeddings(9, input, seed: 2);

        using var x = torch.tensor(rows.SelectMany(r => r).ToArray(), [rows.Length, input]);
        using var noGrad = torch.no_grad();
        using var reconstruction = model.forward(x);
        float[] torchOut = reconstruction.data<float>().ToArray();

        for (int r = 0; r < rows.Length; r++)
        {
            double expected = 0;
            for (int d = 0; d < input; d++)
            {
                double diff = rows[r][d] - torchOut[(r * input) + d];
                expected += diff * diff;
            }

            expected /= input;
            kernel.ReconstructionLoss(rows[r]).Should().BeApproximately(expected, Math.Abs(expected) * 1e-5);
        }
    }

    [Test]
    public void ReconstructionLosses_ForABatch_EqualScoringEachRowAloneBitForBit()
    {
        torch.manual_seed(12);
        using var model = new AutoencoderModel(37, [20, 9, 5]);
        var kernel = new InferenceKernel(model.ToWeights());
        float[][] rows = TestData.Embeddings(151, 37, seed: 3); // three parallel chunks; blocks of four plus a rest of three

        var batch = new double[rows.Length];
        kernel.ReconstructionLosses(rows.SelectMany(r => r).ToArray(), batch);

        batch.Should().Equal(rows.Select(r => kernel.ReconstructionLoss(r)));
    }

    [Test]
    public void ReconstructionLosses_WithAStandardizer_EqualScoringEachRowAloneBitForBit()
    {
        torch.manual_seed(13);
        using var model = new AutoencoderModel(37, [20, 9, 5]);
        float[][] rows = TestData.Embeddings(151, 37, seed: 5, scale: 30f, offset: 7f);
        float[] flat = [.. rows.SelectMany(r => r)];
        ModelWeights weights = model.ToWeights().WithStandardizer(InputStandardizer.Fit(flat, 37));
        var kernel = new InferenceKernel(weights);

        var batch = new double[rows.Length];
        kernel.ReconstructionLosses(flat, batch);

        batch.Should().Equal(rows.Select(r => kernel.ReconstructionLoss(r)));
        new InferenceKernel(model.ToWeights()).ReconstructionLoss(rows[0]).Should().NotBe(batch[0], "the standardizer is applied");
    }

    [Test]
    public void ReconstructionLoss_WithAStandardizer_IsTheTorchModelsErrorOnTheStandardizedInput()
    {
        torch.manual_seed(14);
        using var model = new AutoencoderModel(16, [8, 4]);
        model.eval();
        float[][] rows = TestData.Embeddings(5, 16, seed: 6, scale: 100f, offset: -3f);
        InputStandardizer standardizer = InputStandardizer.Fit([.. rows.SelectMany(r => r)], 16);
        var kernel = new InferenceKernel(model.ToWeights().WithStandardizer(standardizer));
        using var noGrad = torch.no_grad();

        foreach (float[] row in rows)
        {
            // As a PyTorch user reproduces it: z = (x - mean) / scale; mean((model(z) - z)^2).
            float[] z = [.. row.Select((v, j) => (v - standardizer.Mean.Span[j]) / standardizer.Scale.Span[j])];
            using var x = torch.tensor(z, [1, 16]);
            using var mse = torch.nn.functional.mse_loss(model.forward(x), x);
            double expected = mse.item<float>();

            kernel.ReconstructionLoss(row).Should().BeApproximately(expected, Math.Abs(expected) * 1e-4);
        }

        float[] reconstruction = new float[16];
        kernel.Reconstruct(rows[0], reconstruction);
        float[] standardizedReconstruction = new float[16];
        new InferenceKernel(model.ToWeights()).Reconstruct(standardizer.ApplyAll(rows[0]), standardizedReconstruction);
        reconstruction.Should().Equal(
            standardizedReconstruction.Select((v, j) => (v * standardizer.Scale.Span[j]) + standardizer.Mean.Span[j]),
            "the reconstruction is mapped back to the input's scale");
    }

    [Test]
    public void ReconstructionLoss_WithSegments_ReportsEachSegmentsMeanSquaredError()
    {
        torch.manual_seed(13);
        using var model = new AutoencoderModel(10, [6, 3]);
        var kernel = new InferenceKernel(model.ToWeights());
        float[] row = TestData.Embeddings(1, 10)[0];
        var output = new float[10];
        kernel.Reconstruct(row, output);
        EmbeddingSegment[] segments = [new("head", 0, 4), new("tail", 4, 6)];
        var perSegment = new double[2];

        double total = kernel.ReconstructionLoss(row, segments, perSegment);

        double Mse(int start, int length) => Enumerable.Range(start, length).Average(i => Math.Pow((double)row[i] - output[i], 2));
        perSegment[0].Should().BeApproximately(Mse(0, 4), 1e-12);
        perSegment[1].Should().BeApproximately(Mse(4, 6), 1e-12);
        total.Should().BeApproximately(((4 * perSegment[0]) + (6 * perSegment[1])) / 10, 1e-12);
    }

    [Test]
    public void ReconstructionLoss_WrongLength_ThrowsInvalidEmbedding()
    {
        var kernel = new InferenceKernel(Checkpoints.CheckpointTestData.Weights());

        FluentActions.Invoking(() => kernel.ReconstructionLoss(new float[5])).Should().Throw<InvalidEmbeddingException>().WithMessage("*5 values*takes 6*");
    }

    [Test]
    public void ReconstructionLoss_AfterWarmUp_AllocatesNothing()
    {
        var kernel = new InferenceKernel(Checkpoints.CheckpointTestData.Weights());
        float[] row = [0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f];
        kernel.ReconstructionLoss(row);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            kernel.ReconstructionLoss(row);
        }

        (GC.GetAllocatedBytesForCurrentThread() - before).Should().Be(0);
    }
}
