using AgeGroupAnomaly.Modeling;
using AgeGroupAnomaly.Training;
using FluentAssertions;
using NUnit.Framework;
using TorchSharp;

namespace AgeGroupAnomaly.Tests.Training;

[TestFixture]
[NonParallelizable]
public sealed class AutoencoderTrainerTests
{
    private static readonly TrainingConfig Small = TrainingConfig.Default with { HiddenSizes = [12, 6], Epochs = 8, BatchSize = 16 };

    [Test]
    public void Train_OnSmallData_ReturnsHistoryMetricsAndThreshold()
    {
        float[][] data = TestData.Embeddings(120, 16);
        var epochs = new List<EpochRecord>();

        using TrainedAutoencoder trained = new AutoencoderTrainer(Small).Train(data, new SyncProgress<EpochRecord>(epochs.Add));
        TrainingResult r = trained.Result;

        r.EpochsTrained.Should().Be(8);
        r.StopReason.Should().Be(StopReason.MaxEpochs);
        r.TrainCount.Should().Be(96);
        r.ValidationCount.Should().Be(24);
        r.History.Select(h => h.Epoch).Should().Equal(1, 2, 3, 4, 5, 6, 7, 8);
        epochs.Should().Equal(r.History);
        r.History[0].LearningRate.Should().Be(0.001);
        r.History.Should().OnlyContain(h => double.IsFinite(h.TrainLoss) && double.IsFinite(h.ValidationLoss));
        r.BestValidationLoss.Should().Be(r.History.Min(h => h.ValidationLoss));
        r.Metrics.Count.Should().Be(120);
        r.Metrics.SortedLosses.Should().BeInAscendingOrder();
        r.Metrics.Percentile95.Should().Be(r.Metrics.SortedLosses[114]); // floor(0.95 * 120)
        r.Metrics.Percentile99.Should().Be(r.Metrics.SortedLosses[118]); // floor(0.99 * 120)
        r.ValidationMetrics.Count.Should().Be(24);
        r.ThresholdPolicy.Calibration.Should().Be(ThresholdCalibration.ValidationRows);
        r.ThresholdPolicy.CalibrationCount.Should().Be(24);
        r.Threshold.Should().Be(r.ValidationMetrics.SortedLosses[23]); // rank ceil(25 * 0.95) = 24 of 24 held-out losses
        r.Architecture.TotalParameters.Should().Be(new ArchitectureInfo(16, [12, 6], 0.1).TotalParameters);
    }

    [Test]
    public void Train_ReturnedModel_HasTheReportedBestValidationLossNotTheLastEpochs()
    {
        float[][] data = TestData.Embeddings(150, 16, seed: 7);
        // A large learning rate makes the validation loss bounce, so the best epoch is not the last.
        var config = Small with { LearningRate = 0.1, Epochs = 12, EarlyStoppingPatience = 100, Standardize = false };

        using TrainedAutoencoder trained = new AutoencoderTrainer(config).Train(data);
        TrainingResult r = trained.Result;

        r.BestEpoch.Should().BeLessThan(r.EpochsTrained, "the scenario needs a best epoch before the last one");
        r.FinalValidationLoss.Should().NotBe(r.BestValidationLoss);
        int[] validationRows = [.. r.ValidationRowIndices];
        float[] values = [.. data.SelectMany(x => x)];
        using var engine = new CpuTrainingEngine(r.Weights, values, config.BatchSize, 0, dropoutSeed: 0, threads: 1);
        AutoencoderTrainer.MeanBatchLoss(engine, validationRows, config.BatchSize, CancellationToken.None).Should().Be(r.BestValidationLoss);

        // The module handed back holds the same weights: TorchSharp's forward agrees to float rounding.
        using var reference = new TorchTrainingEngine(trained.Model, values, 16, torch.CPU, 0, dropoutSeed: 0);
        AutoencoderTrainer.MeanBatchLoss(reference, validationRows, config.BatchSize, CancellationToken.None)
            .Should().BeApproximately(r.BestValidationLoss, 1e-5 * r.BestValidationLoss);
    }

    [Test]
    public void Train_TwiceWithTheSameSeed_GivesBitIdenticalWeightsAndMetrics()
    {
        float[][] data = TestData.Embeddings(100, 16, seed: 3);
        var config = Small with { CpuThreads = 2 };

        using TrainedAutoencoder first = new AutoencoderTrainer(config).Train(data);
        using TrainedAutoencoder second = new AutoencoderTrainer(config).Train(data);

        second.Result.Weights.BitwiseEquals(first.Result.Weights).Should().BeTrue();
        second.Result.Metrics.SortedLosses.Should().Equal(first.Result.Metrics.SortedLosses);
        second.Result.History.Select(h => (h.TrainLoss, h.ValidationLoss)).Should().Equal(first.Result.History.Select(h => (h.TrainLoss, h.ValidationLoss)));
    }

    [Test]
    public void Train_WithAnotherSeed_GivesOtherWeights()
    {
        float[][] data = TestData.Embeddings(100, 16, seed: 3);

        using TrainedAutoencoder first = new AutoencoderTrainer(Small with { Epochs = 2 }).Train(data);
        using TrainedAutoencoder second = new AutoencoderTrainer(Small with { Epochs = 2, Seed = 43 }).Train(data);

        second.Result.Weights.BitwiseEquals(first.Result.Weights).Should().BeFalse();
    }

    [Test]
    public void Train_ContiguousInput_EqualsJaggedInput()
    {
        float[][] data = TestData.Embeddings(60, 16, seed: 4);
        var trainer = new AutoencoderTrainer(Small with { Epochs = 2 });

        using TrainedAutoencoder jagged = trainer.Train(data);
        using TrainedAutoencoder contiguous = trainer.Train(data.SelectMany(r => r).ToArray(), 16);

        contiguous.Result.Weights.BitwiseEquals(jagged.Result.Weights).Should().BeTrue();
    }

    [Test]
    public void Train_NoRows_ThrowsInvalidEmbedding()
    {
        FluentActions.Invoking(() => new AutoencoderTrainer(Small).Train(Array.Empty<float[]>()))
            .Should().Throw<InvalidEmbeddingException>().WithMessage("*no embeddings*");
    }

    [Test]
    public void Train_RowsOfDifferentLength_ThrowsNamingTheRow()
    {
        float[][] data = TestData.Embeddings(20, 16);
        data[7] = new float[15];

        FluentActions.Invoking(() => new AutoencoderTrainer(Small).Train(data))
            .Should().Throw<InvalidEmbeddingException>().Where(e => e.RowIndex == 7).WithMessage("Row 7 has 15 values*");
    }

    [TestCase(float.NaN, 0)]
    [TestCase(float.PositiveInfinity, 8)]
    [TestCase(float.NegativeInfinity, 15)]
    public void Train_NonFiniteValue_ThrowsNamingTheRow(float bad, int position)
    {
        float[][] data = TestData.Embeddings(20, 16);
        data[11][position] = bad;

        FluentActions.Invoking(() => new AutoencoderTrainer(Small).Train(data))
            .Should().Throw<InvalidEmbeddingException>().Where(e => e.RowIndex == 11).WithMessage($"Row 11 holds*position {position}*");
    }

    [Test]
    public void Train_ContiguousLengthNotAMultipleOfDimension_Throws()
    {
        FluentActions.Invoking(() => new AutoencoderTrainer(Small).Train(new float[33], 16))
            .Should().Throw<InvalidEmbeddingException>().WithMessage("*33 values*dimension 16*");
    }

    [Test]
    public void Train_TooFewRowsForAValidationRow_ThrowsInsufficientSamples()
    {
        float[][] data = TestData.Embeddings(4, 16);

        FluentActions.Invoking(() => new AutoencoderTrainer(Small).Train(data))
            .Should().Throw<InsufficientSamplesException>().Where(e => e.SampleCount == 4 && e.RequiredCount == 5);
        AutoencoderTrainer.MinimumRows(0.2).Should().Be(5);
        AutoencoderTrainer.MinimumRows(0.5).Should().Be(2);
    }

    [TestCase(0.2)]
    [TestCase(0.5)]
    [TestCase(1.0 / 3)]
    [TestCase(0.3)]
    [TestCase(0.1)]
    [TestCase(0.7)]
    [TestCase(0.999999)]
    [TestCase(0.01)]
    [TestCase(0.001)]
    [TestCase(1e-5)]
    [TestCase(TrainingConfig.MinValidationSplit)]
    public void MinimumRows_ClosedForm_EqualsTheFirstRowCountThatSplits(double split)
    {
        // Brute force, bounded by the smallest accepted split (1,000,000 rows).
        int expected = 2;
        while ((int)(expected * split) < 1 || expected - (int)(expected * split) < 1)
        {
            expected++;
        }

        AutoencoderTrainer.MinimumRows(split).Should().Be(expected);
    }

    [TestCase(1e-12)]
    [TestCase(double.Epsilon)]
    [TestCase(1e-9)]
    [TestCase(9.99e-7)]
    [TestCase(double.NaN)]
    [TestCase(0.0)]
    [TestCase(1.0)]
    public void MinimumRows_SplitOutsideTheAcceptedRange_ThrowsNamingTheRange(double split)
    {
        FluentActions.Invoking(() => AutoencoderTrainer.MinimumRows(split))
            .Should().Throw<ArgumentOutOfRangeException>().WithMessage("*ValidationSplit*[0.000001, 1)*");
        FluentActions.Invoking(() => new AutoencoderTrainer(Small with { ValidationSplit = split }))
            .Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "ValidationSplit");
    }

    [Test]
    public void Train_BatchSizeFarAboveTheRowCount_AllocatesForTheRowsNotTheBatch()
    {
        float[][] data = TestData.Embeddings(80, 16);
        var config = Small with { Epochs = 2, CpuThreads = 1 };
        using (new AutoencoderTrainer(config with { BatchSize = 80 }).Train(data))
        {
            // warm-up: first-use allocations (JIT, statics) are not the batch's
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        using TrainedAutoencoder rowsBatch = new AutoencoderTrainer(config with { BatchSize = 80 }).Train(data);
        long rowsSized = GC.GetAllocatedBytesForCurrentThread() - before;

        before = GC.GetAllocatedBytesForCurrentThread();
        using TrainedAutoencoder hugeBatch = new AutoencoderTrainer(config with { BatchSize = 1_000_000 }).Train(data);
        long hugeSized = GC.GetAllocatedBytesForCurrentThread() - before;

        TestContext.Out.WriteLine($"BatchSize 80: {rowsSized} bytes; BatchSize 1,000,000: {hugeSized} bytes");
        hugeSized.Should().BeLessThan(rowsSized + (64 * 1024), "a batch larger than the rows needs no larger buffers");
        hugeBatch.Result.Weights.Layers[0].Weight.Should().Equal(rowsBatch.Result.Weights.Layers[0].Weight, "one batch of all rows either way");
    }

    [TestCase(int.MaxValue)]
    [TestCase(int.MaxValue - 1)]
    [TestCase(1_000_000_000)]
    public void Train_BatchSizeNearIntMax_TrainsWithoutOverflow(int batchSize)
    {
        float[][] data = TestData.Embeddings(80, 16);

        using TrainedAutoencoder trained = new AutoencoderTrainer(Small with { Epochs = 2, BatchSize = batchSize }).Train(data);

        trained.Result.EpochsTrained.Should().Be(2);
        double.IsFinite(trained.Result.Threshold).Should().BeTrue();
    }

    [TestCase(32, 1)]
    [TestCase(32, 2)]
    [TestCase(7, 2)]
    [TestCase(600, 1)] // batches larger than one evaluation pass
    public void MeanBatchLoss_InPassesOfManyRows_EqualsEvaluatingBatchByBatchBitForBit(int batchSize, int threads)
    {
        // 1,100 rows: three passes of up to 512 rows, a short last batch in each pass and at the end.
        float[][] data = TestData.Embeddings(1100, 16, seed: 4);
        ModelWeights weights = WeightInitializer.Initialize(new ArchitectureInfo(16, [12, 6], 0.1), seed: 2);
        using var engine = new CpuTrainingEngine(weights, [.. data.SelectMany(r => r)], Math.Min(batchSize, 1100), 0, dropoutSeed: 0, threads: threads);
        int[] rows = [.. Enumerable.Range(0, 1100).Select(i => (i * 37) % 1100)];
        double sum = 0;
        int batches = 0;
        for (int start = 0; start < rows.Length; start += batchSize)
        {
            sum += engine.EvaluateBatch(rows.AsSpan(start, Math.Min(batchSize, rows.Length - start)));
            batches++;
        }

        engine.MeanBatchLoss(rows, batchSize).Should().Be(sum / batches);
    }

    [Test]
    public void MeanBatchLoss_BatchSizeIntMax_CoversEveryRowOnce()
    {
        float[][] data = TestData.Embeddings(40, 16);
        ModelWeights weights = WeightInitializer.Initialize(new ArchitectureInfo(16, [8, 4], 0), seed: 1);
        using var engine = new CpuTrainingEngine(weights, [.. data.SelectMany(r => r)], 40, 0, dropoutSeed: 0, threads: 1);
        int[] rows = [.. Enumerable.Range(0, 40)];

        AutoencoderTrainer.MeanBatchLoss(engine, rows, int.MaxValue, CancellationToken.None)
            .Should().Be(AutoencoderTrainer.MeanBatchLoss(engine, rows, 40, CancellationToken.None));
    }

    [Test]
    public void Train_ValuesSoLargeTheFirstEpochOverflows_ThrowsTrainingException()
    {
        float[][] data = TestData.Embeddings(40, 16, scale: 1e30f);

        FluentActions.Invoking(() => new AutoencoderTrainer(Small with { Standardize = false }).Train(data))
            .Should().Throw<AutoencoderTrainingException>().WithMessage("*epoch 1*");
    }

    [Test]
    public void Train_ValidationLossAboveTheEmergencyLimit_StopsWithEmergencyStop()
    {
        float[][] data = TestData.Embeddings(40, 16, scale: 1000f);

        using TrainedAutoencoder trained = new AutoencoderTrainer(Small with { Standardize = false }).Train(data);

        trained.Result.StopReason.Should().Be(StopReason.EmergencyStop);
        trained.Result.EpochsTrained.Should().Be(1);
        double.IsFinite(trained.Result.Threshold).Should().BeTrue();
    }

    [Test]
    public void Train_WithoutImprovement_StopsEarly()
    {
        float[][] data = TestData.Embeddings(40, 16);

        using TrainedAutoencoder trained = new AutoencoderTrainer(Small with { EarlyStoppingPatience = 0, MinDelta = 1e9 }).Train(data);

        trained.Result.StopReason.Should().Be(StopReason.EarlyStopping);
        trained.Result.EpochsTrained.Should().Be(2);
    }

    [Test]
    public void Train_WithTheOriginalConfig_CalibratesOnEveryRowByTheOriginalIndexRule()
    {
        float[][] data = TestData.Embeddings(120, 16);

        using TrainedAutoencoder trained = new AutoencoderTrainer(Small with { ThresholdCalibration = ThresholdCalibration.TrainingAndValidationRows }).Train(data);
        TrainingResult r = trained.Result;

        r.ThresholdPolicy.Should().Be(ThresholdPolicy.ForPercentile(95) with { CalibrationCount = 120 });
        r.Threshold.Should().Be(r.Metrics.SortedLosses[114]); // floor(0.95 * 120)
        TrainingConfig.Original.ThresholdCalibration.Should().Be(ThresholdCalibration.TrainingAndValidationRows);
    }

    [Test]
    public void Train_ByDefault_HoldsTheFalseAlarmRateOnNewNormalRowsNearTheNominalRate_WhereTheOriginalRuleRunsAbove()
    {
        // One seeded distribution: 400 rows to train on, 4,000 new rows from the same distribution to count false alarms on.
        float[][] all = TestData.Embeddings(4400, 16, seed: 7);
        float[][] train = all[..400];
        float[][] fresh = all[400..];
        TrainingConfig config = Small with { Epochs = 30 };

        double heldOut = FalseAlarmRate(config, train, fresh);
        double original = FalseAlarmRate(config with { ThresholdCalibration = ThresholdCalibration.TrainingAndValidationRows }, train, fresh);

        // 80 held-out rows: the expected rate lies in [5 % - 1/81, 5 %]; the band allows for the sampling noise of 80 calibration rows.
        heldOut.Should().BeInRange(0.01, 0.10);
        original.Should().BeGreaterThan(heldOut, "training rows the model has fitted pull the original threshold down");
    }

    private static double FalseAlarmRate(TrainingConfig config, float[][] train, float[][] fresh)
    {
        using TrainedAutoencoder trained = new AutoencoderTrainer(config).Train(train);
        double[] losses = new double[fresh.Length];
        new AgeGroupAnomaly.Compute.InferenceKernel(trained.Result.Weights).ReconstructionLosses(EmbeddingMatrix.FromRows(fresh).Values, losses);
        return losses.Count(l => l > trained.Result.Threshold) / (double)fresh.Length;
    }

    [Test]
    public void Train_AllIdenticalRows_TrainsWithAFiniteThreshold()
    {
        float[][] data = [.. Enumerable.Range(0, 30).Select(_ => Enumerable.Repeat(0.5f, 16).ToArray())];

        using TrainedAutoencoder trained = new AutoencoderTrainer(Small with { Epochs = 3 }).Train(data);

        double.IsFinite(trained.Result.Threshold).Should().BeTrue();
        trained.Result.Metrics.Std.Should().BeApproximately(0, 1e-6);
    }

    [Test]
    public void Train_CancelledDuringTraining_ThrowsOperationCanceledUnwrapped()
    {
        float[][] data = TestData.Embeddings(60, 16);
        using var cts = new CancellationTokenSource();
        var progress = new SyncProgress<EpochRecord>(_ => cts.Cancel());

        FluentActions.Invoking(() => new AutoencoderTrainer(Small).Train(data, progress, cts.Token))
            .Should().Throw<OperationCanceledException>();
    }

    [Test]
    public void Train_Repeatedly_LeavesNoTensorsAlive()
    {
        float[][] data = TestData.Embeddings(60, 16);
        var trainer = new AutoencoderTrainer(Small with { Epochs = 3 });
        using (trainer.Train(data))
        {
            // warm-up: TorchSharp creates a few long-lived tensors on first use
        }

        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 3; i++)
        {
            using TrainedAutoencoder trained = trainer.Train(data);
        }

        DisposeScopeManager.Statistics.ThreadTotalLiveCount.Should().Be(before);
    }

    [Test]
    public void Train_ByDefault_StandardizesOnTheRowsItIsGivenAndChoosesTheHiddenSizesFromTheDimension()
    {
        float[][] data = TestData.Embeddings(60, 16, seed: 8, scale: 50f, offset: 10f);

        using TrainedAutoencoder trained = new AutoencoderTrainer(TrainingConfig.Default with { Epochs = 3 }).Train(data);
        TrainingResult r = trained.Result;

        r.Architecture.HiddenSizes.Should().Equal(8, 4);
        r.Weights.Architecture.Should().Be(r.Architecture);
        r.Weights.Standardizer.Should().NotBeNull();
        r.Weights.Standardizer!.BitwiseEquals(InputStandardizer.Fit([.. data.SelectMany(x => x)], 16)).Should().BeTrue();
    }

    [TestCase(true)]
    [TestCase(false)]
    public void Train_ATrainingRow_ScoresExactlyItsCalibrationError(bool standardize)
    {
        float[][] data = TestData.Embeddings(120, 16, seed: 9, scale: 20f, offset: 5f); // 24 validation rows: the threshold is one of their losses

        using TrainedAutoencoder trained = new AutoencoderTrainer(Small with { Standardize = standardize }).Train(data);
        TrainingResult r = trained.Result;
        var kernel = new AgeGroupAnomaly.Compute.InferenceKernel(r.Weights);

        double[] single = [.. data.Select(row => kernel.ReconstructionLoss(row))];
        single.Order().Should().Equal(r.Metrics.SortedLosses);
        single.Should().Contain(r.Threshold);
        (r.Weights.Standardizer is not null).Should().Be(standardize);
    }

    [Test]
    public void Train_WithTheOriginalConfig_UsesItsHiddenSizesAndRawInputs()
    {
        float[][] data = TestData.Embeddings(40, 16, seed: 10, scale: 3f);
        var original = TrainingConfig.Original with { Epochs = 2 };

        using TrainedAutoencoder trained = new AutoencoderTrainer(original).Train(data);
        TrainingResult r = trained.Result;

        r.Architecture.HiddenSizes.Should().Equal(256, 128, 64, 32);
        r.Weights.Standardizer.Should().BeNull();
        // The same as spelling the original service out by hand: nothing else differs.
        var spelledOut = TrainingConfig.Default with { HiddenSizes = [256, 128, 64, 32], Standardize = false, RelativeMinDelta = false, Epochs = 2 };
        using TrainedAutoencoder byHand = new AutoencoderTrainer(spelledOut).Train(data);
        r.Weights.BitwiseEquals(byHand.Result.Weights).Should().BeTrue();
        r.Metrics.SortedLosses.Should().Equal(byHand.Result.Metrics.SortedLosses);
        // Raw inputs: the kernel's error is the plain mean squared difference to the raw row.
        float[] reconstruction = new float[16];
        var kernel = new AgeGroupAnomaly.Compute.InferenceKernel(r.Weights);
        kernel.Reconstruct(data[0], reconstruction);
        double raw = data[0].Zip(reconstruction, (a, b) => ((double)a - b) * ((double)a - b)).Sum() / 16;
        kernel.ReconstructionLoss(data[0]).Should().BeApproximately(raw, raw * 1e-12);
        AgeGroupAnomaly.Checkpoints.SafetensorsCheckpoint.Serialize(r.Weights).Should().NotBeEmpty();
        System.Text.Encoding.UTF8.GetString(AgeGroupAnomaly.Checkpoints.SafetensorsCheckpoint.Serialize(r.Weights)).Should().NotContain("input_standardizer", "an unstandardized model is written as before (version 1)");
    }

    /// <summary>Reports on the calling thread (Progress&lt;T&gt; would post to the thread pool).</summary>
    [TestCase(0.05f, true)]
    [TestCase(5f, true)]
    [TestCase(0.05f, false)]
    public void Train_SmallOrLargeEmbeddings_WithTheDefaultEarlyStopping_DoesNotStopWhileStillImproving(float scale, bool relative)
    {
        // Embeddings on the scale the issue saw (values ~0.05, losses ~1e-3) and 100 times larger.
        float[][] data = [.. TestData.Embeddings(120, 16, seed: 4).Select(r => r.Select(v => v * scale).ToArray())];
        var config = Small with { Epochs = 60, EarlyStoppingPatience = 5, RelativeMinDelta = relative, Standardize = false }; // the raw scale is the point

        using TrainedAutoencoder trained = new AutoencoderTrainer(config).Train(data);
        if (!relative)
        {
            // The original's absolute 1e-4 on losses of about 1e-3: it stops while the loss still falls.
            trained.Result.StopReason.Should().Be(StopReason.EarlyStopping);
            trained.Result.BestEpoch.Should().Be(trained.Result.EpochsTrained, "it stopped at its best epoch, still improving");
            return;
        }

        TrainingResult result = trained.Result;
        if (result.StopReason == StopReason.EarlyStopping)
        {
            result.BestEpoch.Should().BeLessThan(result.EpochsTrained, "an early stop comes after epochs without real improvement, not while the best is the latest");
        }

        result.EpochsTrained.Should().BeGreaterThan(config.EarlyStoppingPatience + 1, "the first epochs improve by far more than 1e-4 of the loss");
    }

    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
