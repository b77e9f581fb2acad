using AgeGroupAnomaly.Management;
using AgeGroupAnomaly.Compute;
using AgeGroupAnomaly.Checkpoints;
using AgeGroupAnomaly.Modeling;
using AgeGroupAnomaly.Scoring;
using AgeGroupAnomaly.Storage;
using AgeGroupAnomaly.Storage.Sqlite;
using AgeGroupAnomaly.Training;
using FluentAssertions;
using NUnit.Framework;
using TorchSharp;

namespace AgeGroupAnomaly.Tests.Management;

/// <summary>End-to-end behaviour of <see cref="ModelManager"/>; runs once per store.</summary>
[NonParallelizable]
public abstract class ModelManagerTests
{
    protected const int Dimension = 16;

    protected static readonly TrainingConfig Fast = TrainingConfig.Default with { HiddenSizes = [8, 4], Epochs = 3, BatchSize = 16 };

    private string _directory = null!;

    protected IModelStore Store { get; private set; } = null!;

    protected ModelManager Manager { get; private set; } = null!;

    protected string CheckpointDirectory => Path.Combine(_directory, "checkpoints");

    protected abstract IModelStore CreateStore(string directory);

    [SetUp]
    public void SetUp()
    {
        _directory = TestEnvironment.CreateTempDirectory();
        Store = CreateStore(_directory);
        Manager = CreateManager();
    }

    [TearDown]
    public void TearDown()
    {
        Manager.Dispose();
        (Store as IDisposable)?.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    protected ModelManager CreateManager(
        IModelStore? store = null, IReadOnlyList<EmbeddingSegment>? segments = null, int cacheCapacity = 16, bool allowOverlaps = false, Microsoft.Extensions.Logging.ILoggerFactory? logging = null) =>
        new(
            store ?? Store,
            new ModelManagerOptions
            {
                CheckpointDirectory = CheckpointDirectory,
                DefaultTrainingConfig = Fast,
                Segments = segments ?? [],
                CacheCapacity = cacheCapacity,
                AllowOverlappingRanges = allowOverlaps,
            },
            logging);

    protected async Task AddSamplesAsync(int age, int count, int seed, int dimension = Dimension)
    {
        float[][] rows = TestData.Embeddings(count, dimension, seed, offset: age * 0.1f);
        await Store.AddSamplesAsync([.. rows.Select(r => new NewSample(age, r))]);
    }

    [Test]
    public async Task TrainAgeGroupModel_RecordsAnActiveModelWithItsCheckpointAndThreshold()
    {
        await AddSamplesAsync(4, 30, seed: 1);
        await AddSamplesAsync(5, 30, seed: 2);
        await AddSamplesAsync(9, 30, seed: 3);

        AgeGroupTrainingResult result = await Manager.TrainAgeGroupModelAsync(4, 5);

        result.SampleCount.Should().Be(60);
        result.Threshold.Should().Be(result.Training.ThresholdPolicy.ThresholdFrom(result.Training.ValidationMetrics)).And.Be(result.Training.Threshold);
        result.Threshold.Should().BeGreaterThanOrEqualTo(result.Training.ValidationMetrics.Max, "rank ceil(13 * 0.95) = 13 is beyond 12 held-out losses: the log-normal bound, at least the largest");
        File.Exists(Path.Combine(CheckpointDirectory, result.Checkpoint.RelativePath)).Should().BeTrue();
        ModelRecord record = (await Store.GetModelAsync(result.ModelId))!;
        record.IsActive.Should().BeTrue();
        record.AgeMin.Should().Be(4);
        record.AgeMax.Should().Be(5);
        record.EmbeddingDimension.Should().Be(Dimension);
        record.CheckpointSha256.Should().Be(result.Checkpoint.Sha256);
        record.Threshold.Should().Be(result.Threshold);
    }

    [TestCase(double.NaN, 5.0)]
    [TestCase(-1.0, 5.0)]
    [TestCase(6.0, 5.0)]
    public async Task TrainAgeGroupModel_InvalidRange_ThrowsArgumentException(double min, double max)
    {
        await FluentActions.Awaiting(() => Manager.TrainAgeGroupModelAsync(min, max)).Should().ThrowAsync<ArgumentException>();
    }

    [Test]
    public async Task TrainAgeGroupModel_NoSamplesInRange_SaysSo()
    {
        await AddSamplesAsync(9, 10, seed: 1);

        (await FluentActions.Awaiting(() => Manager.TrainAgeGroupModelAsync(3, 5)).Should().ThrowAsync<InsufficientSamplesException>())
            .Which.Should().Match<InsufficientSamplesException>(e => e.SampleCount == 0 && e.Message.StartsWith("No samples have an age in [3, 5]", StringComparison.Ordinal));
    }

    [Test]
    public async Task TrainAgeGroupModel_TooFewSamples_SaysHowManyAreNeeded()
    {
        await AddSamplesAsync(4, 3, seed: 1);

        (await FluentActions.Awaiting(() => Manager.TrainAgeGroupModelAsync(3, 5)).Should().ThrowAsync<InsufficientSamplesException>())
            .Which.Message.Should().Contain("Only 3 samples").And.Contain("at least 5");
    }

    [Test]
    public async Task AddSamples_OfAnotherDimension_AreRefused_SoTrainingOfTheRangeKeepsWorking()
    {
        await AddSamplesAsync(4, 20, seed: 1);

        await FluentActions.Awaiting(() => AddSamplesAsync(4, 10, seed: 2, dimension: 12)).Should().ThrowAsync<InvalidEmbeddingException>().WithMessage("*12 values*embeddings of 16*");

        (await Manager.TrainAgeGroupModelAsync(3, 5)).SampleCount.Should().Be(20);
    }

    [Test]
    public async Task TrainAgeGroupModel_WhenRecordingFails_LeavesNoFileAndNoRecord()
    {
        await AddSamplesAsync(4, 20, seed: 1);
        ModelManager manager = CreateManager(new FailingAddModelStore(Store));

        await FluentActions.Awaiting(() => manager.TrainAgeGroupModelAsync(3, 5)).Should().ThrowAsync<IOException>();

        Directory.GetFiles(CheckpointDirectory).Should().BeEmpty();
        (await Store.ListModelsAsync()).Should().BeEmpty();
    }

    [Test]
    public async Task Retraining_MakesANewActiveVersion_AndActivateRollsBack()
    {
        await AddSamplesAsync(4, 30, seed: 1);
        AgeGroupTrainingResult v1 = await Manager.TrainAgeGroupModelAsync(3, 5);
        float[] probe = TestData.Embeddings(1, Dimension, seed: 99)[0];
        (await Manager.ScoreAsync(probe, 4)).ModelId.Should().Be(v1.ModelId);

        AgeGroupTrainingResult v2 = await Manager.TrainAgeGroupModelAsync(3, 5, Fast with { Seed = 7 });

        (await Manager.ScoreAsync(probe, 4)).ModelId.Should().Be(v2.ModelId);
        (await Manager.GetModelInfoAsync(v1.ModelId)).IsActive.Should().BeFalse();

        await Manager.ActivateAsync(v1.ModelId);

        ScoreResult rolledBack = await Manager.ScoreAsync(probe, 4);
        rolledBack.ModelId.Should().Be(v1.ModelId);
        rolledBack.ReconstructionLoss.Should().Be(await Manager.ComputeReconstructionLossAsync(probe, v1.ModelId));
        (await Manager.ListModelsAsync()).Select(m => (m.Id, m.IsActive)).Should().Equal((v1.ModelId, true), (v2.ModelId, false));
    }

    [Test]
    public async Task ScoreBatch_LargeBatchWithTwoBadRows_ReportsTheFirstAndEqualsSingleScoresOtherwise()
    {
        await AddSamplesAsync(4, 40, seed: 1);
        await Manager.TrainAgeGroupModelAsync(3, 5);
        float[][] rows = TestData.Embeddings(600, Dimension, seed: 4); // large enough to be checked on all cores
        IReadOnlyList<ScoreResult> results = await Manager.ScoreBatchAsync(rows, 4);
        for (int i = 0; i < rows.Length; i += 37)
        {
            results[i].ReconstructionLoss.Should().Be((await Manager.ScoreAsync(rows[i], 4)).ReconstructionLoss);
        }

        rows[450][3] = float.NaN;
        rows[130][7] = float.PositiveInfinity;

        InvalidEmbeddingException thrown = (await FluentActions.Awaiting(() => Manager.ScoreBatchAsync(rows, 4))
            .Should().ThrowAsync<InvalidEmbeddingException>()).Which;
        thrown.RowIndex.Should().Be(130);
        thrown.Message.Should().Contain("Row 130");
    }

    [Test]
    public async Task Score_WithSplitSingleScoresAcrossCores_GivesTheSameResults_AndDisposeEndsItsHelper()
    {
        Assume.That(Environment.ProcessorCount, Is.GreaterThan(1), "the option is ignored on one core");
        await AddSamplesAsync(4, 40, seed: 1);
        await Manager.TrainAgeGroupModelAsync(3, 5);
        var split = new ModelManager(Store, new ModelManagerOptions { CheckpointDirectory = CheckpointDirectory, SplitSingleScoresAcrossCores = true });
        using var oneCore = new ModelManager(Store, new ModelManagerOptions { CheckpointDirectory = CheckpointDirectory, SplitSingleScoresAcrossCores = false });
        oneCore.SecondCore.Should().BeNull("with the option off a manager has no helper");
        float[][] probes = TestData.Embeddings(50, Dimension, seed: 2);

        foreach (float[] probe in probes)
        {
            (await split.ScoreAsync(probe, 4)).Should().Be(await oneCore.ScoreAsync(probe, 4));
        }

        SecondCore helper = split.SecondCore!;
        helper.Should().NotBeNull("the option gives the manager its own helper");
        split.Dispose();
        helper.HasEnded.Should().BeTrue("the helper belongs to the manager and ends with it");
        (await split.ScoreAsync(probes[0], 4)).Should().Be(await oneCore.ScoreAsync(probes[0], 4), "scores after Dispose compute on one core");
    }

    [Test]
    public async Task Score_ReturnsLossThresholdFlagRatioAndRank()
    {
        await AddSamplesAsync(4, 40, seed: 1);
        AgeGroupTrainingResult trained = await Manager.TrainAgeGroupModelAsync(3, 5);
        float[] normal = TestData.Embeddings(40, Dimension, 1, offset: 0.4f)[0];
        float[] odd = [.. Enumerable.Repeat(25f, Dimension)];

        ScoreResult typical = await Manager.ScoreAsync(normal, 4);
        ScoreResult unusual = await Manager.ScoreAsync(odd, 4.5);

        typical.ModelId.Should().Be(trained.ModelId);
        typical.AgeMin.Should().Be(3);
        typical.AgeMax.Should().Be(5);
        typical.Threshold.Should().Be(trained.Threshold);
        typical.ThresholdRatio.Should().BeApproximately(typical.ReconstructionLoss / typical.Threshold, 1e-12);
        typical.PercentileRank.Should().BeInRange(0, 100);
        typical.IsAnomaly.Should().Be(typical.ReconstructionLoss > typical.Threshold);
        unusual.IsAnomaly.Should().BeTrue();
        unusual.PercentileRank.Should().Be(100);
        unusual.ThresholdRatio.Should().BeGreaterThan(1);
        typical.SegmentLosses.Should().BeEmpty();
    }

    [Test]
    public async Task Score_AgeWithoutAnActiveModel_ThrowsNoModelForAge()
    {
        await AddSamplesAsync(4, 20, seed: 1);
        AgeGroupTrainingResult trained = await Manager.TrainAgeGroupModelAsync(3, 5);
        float[] probe = new float[Dimension];

        (await FluentActions.Awaiting(() => Manager.ScoreAsync(probe, 9).AsTask()).Should().ThrowAsync<NoModelForAgeException>()).Which.Age.Should().Be(9);

        await Manager.DeactivateAsync(trained.ModelId);
        await FluentActions.Awaiting(() => Manager.ScoreAsync(probe, 4).AsTask()).Should().ThrowAsync<NoModelForAgeException>();
    }

    [Test]
    public async Task Score_AtABoundaryAgeSharedByTwoRanges_UsesTheOlderGroup()
    {
        await AddSamplesAsync(4, 20, seed: 1);
        await AddSamplesAsync(5, 20, seed: 2);
        await AddSamplesAsync(7, 20, seed: 3);
        AgeGroupTrainingResult younger = await Manager.TrainAgeGroupModelAsync(3, 5);
        AgeGroupTrainingResult older = await Manager.TrainAgeGroupModelAsync(5, 8);
        float[] probe = TestData.Embeddings(1, Dimension, seed: 5)[0];

        (await Manager.ScoreAsync(probe, 5)).ModelId.Should().Be(older.ModelId);
        (await Manager.ScoreAsync(probe, 4.99)).ModelId.Should().Be(younger.ModelId);
        (await Manager.CompareAcrossAgeGroupsAsync(probe)).Select(s => s.ModelId).Should().Equal(younger.ModelId, older.ModelId);
    }

    [TestCase(0)]
    [TestCase(Dimension - 1)]
    public async Task Score_NonFiniteOrWrongDimension_ThrowsInvalidEmbedding(int position)
    {
        await AddSamplesAsync(4, 20, seed: 1);
        await Manager.TrainAgeGroupModelAsync(3, 5);
        float[] bad = new float[Dimension];
        bad[position] = float.NaN;

        await FluentActions.Awaiting(() => Manager.ScoreAsync(bad, 4).AsTask()).Should().ThrowAsync<InvalidEmbeddingException>().WithMessage($"*position {position}*");
        await FluentActions.Awaiting(() => Manager.ScoreAsync(new float[Dimension + 1], 4).AsTask()).Should().ThrowAsync<InvalidEmbeddingException>().WithMessage("*17 values*takes 16*");
        await FluentActions.Awaiting(() => Manager.ScoreAsync(Array.Empty<float>(), 4).AsTask()).Should().ThrowAsync<InvalidEmbeddingException>().WithMessage("*empty*");
    }

    [Test]
    public async Task ScoreBatch_EqualsScoringOneByOne()
    {
        await AddSamplesAsync(4, 20, seed: 1);
        await AddSamplesAsync(8, 20, seed: 2);
        await Manager.TrainAgeGroupModelAsync(3, 5);
        await Manager.TrainAgeGroupModelAsync(7, 9);
        float[][] probes = TestData.Embeddings(11, Dimension, seed: 8);
        double[] ages = [.. Enumerable.Range(0, 11).Select(i => i % 3 == 0 ? 8.0 : 4.0)];

        IReadOnlyList<ScoreResult> batch = await Manager.ScoreBatchAsync(probes, ages);

        var single = new List<ScoreResult>();
        for (int i = 0; i < probes.Length; i++)
        {
            single.Add(await Manager.ScoreAsync(probes[i], ages[i]));
        }

        batch.Should().Equal(single, (a, b) => a.ModelId == b.ModelId && a.ReconstructionLoss == b.ReconstructionLoss && a.PercentileRank == b.PercentileRank);
    }

    [Test]
    public async Task ScoreBatch_RaggedRow_ThrowsNamingTheRow()
    {
        await AddSamplesAsync(4, 20, seed: 1);
        await Manager.TrainAgeGroupModelAsync(3, 5);
        float[][] probes = TestData.Embeddings(3, Dimension, seed: 8);
        probes[2] = new float[3];

        await FluentActions.Awaiting(() => Manager.ScoreBatchAsync(probes, 4)).Should().ThrowAsync<InvalidEmbeddingException>().WithMessage("Row 2:*");
    }

    [Test]
    public async Task Score_WithSegments_ReportsEachSegmentsLoss()
    {
        await AddSamplesAsync(4, 20, seed: 1);
        ModelManager manager = CreateManager(segments: [new EmbeddingSegment("visual", 0, 12), new EmbeddingSegment("subject", 12, 4)]);
        await manager.TrainAgeGroupModelAsync(3, 5);
        float[] probe = TestData.Embeddings(1, Dimension, seed: 3)[0];

        ScoreResult result = await manager.ScoreAsync(probe, 4);

        result.SegmentLosses.Select(s => s.Name).Should().Equal("visual", "subject");
        double recombined = ((12 * result.SegmentLosses[0].Loss) + (4 * result.SegmentLosses[1].Loss)) / 16;
        recombined.Should().BeApproximately(result.ReconstructionLoss, 1e-12);
        (await manager.ScoreBatchAsync([probe], 4))[0].SegmentLosses.Should().Equal(result.SegmentLosses);
    }

    [Test]
    public async Task LoadModel_ReturnsTheTrainedModuleWhoseForwardMatchesTheScores()
    {
        await AddSamplesAsync(4, 20, seed: 1);
        AgeGroupTrainingResult trained = await Manager.TrainAgeGroupModelAsync(3, 5);
        float[] probe = TestData.Embeddings(1, Dimension, seed: 4)[0];

        using AutoencoderModel model = await Manager.LoadModelAsync(trained.ModelId);
        InputStandardizer standardizer = trained.Training.Weights.Standardizer!; // the module takes standardized inputs
        using var x = torch.tensor(standardizer.ApplyAll(probe), [1, Dimension]);
        using var noGrad = torch.no_grad();
        using var reconstruction = model.forward(x);
        using var mse = torch.nn.functional.mse_loss(reconstruction, x);

        model.ToWeights().BitwiseEquals(trained.Training.Weights.WithStandardizer(null)).Should().BeTrue();
        double loss = await Manager.ComputeReconstructionLossAsync(probe, trained.ModelId);
        loss.Should().BeApproximately(mse.item<float>(), loss * 1e-5);
    }

    [Test]
    public async Task LoadModel_UnknownMissingOrCorrupt_ThrowsModelLoadingExceptionWithTheReason()
    {
        await AddSamplesAsync(4, 20, seed: 1);
        AgeGroupTrainingResult a = await Manager.TrainAgeGroupModelAsync(3, 5);
        AgeGroupTrainingResult b = await Manager.TrainAgeGroupModelAsync(3, 5, Fast with { Seed = 3 });
        File.Delete(Path.Combine(CheckpointDirectory, a.Checkpoint.RelativePath));
        string bPath = Path.Combine(CheckpointDirectory, b.Checkpoint.RelativePath);
        byte[] bytes = File.ReadAllBytes(bPath);
        bytes[^1] ^= 0x40;
        File.WriteAllBytes(bPath, bytes);
        var unknown = Guid.NewGuid();

        (await FluentActions.Awaiting(() => Manager.LoadModelAsync(unknown)).Should().ThrowAsync<ModelLoadingException>())
            .Which.Should().Match<ModelLoadingException>(e => e.ModelId == unknown && e.Reason == ModelLoadFailure.UnknownModel);
        (await FluentActions.Awaiting(() => Manager.LoadModelAsync(a.ModelId)).Should().ThrowAsync<ModelLoadingException>())
            .Which.Reason.Should().Be(ModelLoadFailure.MissingFile);
        (await FluentActions.Awaiting(() => Manager.ComputeReconstructionLossAsync(new float[Dimension], b.ModelId)).Should().ThrowAsync<ModelLoadingException>())
            .Which.Reason.Should().Be(ModelLoadFailure.ChecksumMismatch);
        await FluentActions.Awaiting(() => Manager.ScoreAsync(new float[Dimension], 4).AsTask()).Should().ThrowAsync<ModelLoadingException>();
    }

    [Test]
    public async Task Recalibrate_AnActiveModel_AddsAnActiveVersionWithTheNewThreshold_AndTheSourceRollsBack()
    {
        await AddSamplesAsync(4, 60, seed: 1);
        AgeGroupTrainingResult trained = await Manager.TrainAgeGroupModelAsync(3, 5);
        float[] probe = TestData.Embeddings(1, Dimension, 5, offset: 0.4f)[0];
        ScoreResult before = await Manager.ScoreAsync(probe, 4);

        ModelInfo recalibrated = await Manager.RecalibrateAsync(trained.ModelId, 80);

        recalibrated.Id.Should().NotBe(trained.ModelId);
        recalibrated.IsActive.Should().BeTrue();
        recalibrated.Threshold.Should().Be(recalibrated.Training.ValidationMetrics.SortedLosses[10]) // rank ceil(13 * 0.8) = 11 of 12 held-out losses
            .And.BeLessThan(trained.Threshold);
        recalibrated.Training.ThresholdPolicy.Should().Be(ThresholdPolicy.For(80, ThresholdCalibration.ValidationRows, 12));
        recalibrated.Training.Config.ThresholdPercentile.Should().Be(80);
        recalibrated.Training.History.Should().Equal(trained.Training.History);
        (await Manager.GetModelInfoAsync(trained.ModelId)).IsActive.Should().BeFalse();

        ScoreResult after = await Manager.ScoreAsync(probe, 4);
        after.ModelId.Should().Be(recalibrated.Id);
        after.Threshold.Should().Be(recalibrated.Threshold);
        after.ReconstructionLoss.Should().Be(before.ReconstructionLoss, "the weights are the same");

        await Manager.ActivateAsync(trained.ModelId);
        ScoreResult rolledBack = await Manager.ScoreAsync(probe, 4);
        rolledBack.ModelId.Should().Be(trained.ModelId);
        rolledBack.Threshold.Should().Be(trained.Threshold);
    }

    [Test]
    public async Task Recalibrate_AnInactiveModel_AddsAnInactiveVersion_ThatSurvivesTheSourcesDeletion()
    {
        await AddSamplesAsync(4, 30, seed: 1);
        AgeGroupTrainingResult trained = await Manager.TrainAgeGroupModelAsync(3, 5);
        await Manager.DeactivateAsync(trained.ModelId);
        float[] probe = new float[Dimension];
        double loss = await Manager.ComputeReconstructionLossAsync(probe, trained.ModelId);

        ModelInfo recalibrated = await Manager.RecalibrateAsync(trained.ModelId, 99);
        await Manager.DeleteAsync(trained.ModelId);

        recalibrated.IsActive.Should().BeFalse();
        (await Manager.ListModelsAsync()).Select(m => m.Id).Should().Equal(recalibrated.Id);
        (await Manager.ComputeReconstructionLossAsync(probe, recalibrated.Id)).Should().Be(loss, "the copied checkpoint holds the same weights");
        await FluentActions.Awaiting(() => Manager.ScoreAsync(probe, 4).AsTask()).Should().ThrowAsync<NoModelForAgeException>();
    }

    [Test]
    public async Task Recalibrate_OnEveryRow_UsesTheOriginalRuleOverTheTrainingRunsLosses()
    {
        await AddSamplesAsync(4, 40, seed: 1);
        AgeGroupTrainingResult trained = await Manager.TrainAgeGroupModelAsync(3, 5);

        ModelInfo recalibrated = await Manager.RecalibrateAsync(trained.ModelId, 90, ThresholdCalibration.TrainingAndValidationRows);

        recalibrated.Threshold.Should().Be(trained.Training.Metrics.Percentile(90));
        recalibrated.Training.ThresholdPolicy.Calibration.Should().Be(ThresholdCalibration.TrainingAndValidationRows);
        recalibrated.Training.ThresholdPolicy.CalibrationCount.Should().Be(40);
        (await Manager.ScoreAsync(new float[Dimension], 4)).Threshold.Should().Be(recalibrated.Threshold);
    }

    [Test]
    public async Task Recalibrate_WithBadArgumentsOrADamagedCheckpoint_ThrowsATypedErrorAndAddsNothing()
    {
        await AddSamplesAsync(4, 30, seed: 1);
        AgeGroupTrainingResult trained = await Manager.TrainAgeGroupModelAsync(3, 5);
        var unknown = Guid.NewGuid();

        (await FluentActions.Awaiting(() => Manager.RecalibrateAsync(trained.ModelId, 0)).Should().ThrowAsync<ArgumentOutOfRangeException>())
            .WithMessage("*percentile is 0*(0, 100]*");
        await FluentActions.Awaiting(() => Manager.RecalibrateAsync(trained.ModelId, 101)).Should().ThrowAsync<ArgumentOutOfRangeException>();
        await FluentActions.Awaiting(() => Manager.RecalibrateAsync(trained.ModelId, 90, (ThresholdCalibration)7)).Should().ThrowAsync<ArgumentOutOfRangeException>();
        (await FluentActions.Awaiting(() => Manager.RecalibrateAsync(unknown, 90)).Should().ThrowAsync<ModelNotFoundException>())
            .Which.ModelId.Should().Be(unknown);

        string path = Path.Combine(CheckpointDirectory, trained.Checkpoint.RelativePath);
        byte[] bytes = File.ReadAllBytes(path);
        bytes[^1] ^= 0x40;
        File.WriteAllBytes(path, bytes);
        (await FluentActions.Awaiting(() => Manager.RecalibrateAsync(trained.ModelId, 90)).Should().ThrowAsync<ModelLoadingException>())
            .Which.Reason.Should().Be(ModelLoadFailure.ChecksumMismatch);

        (await Store.ListModelsAsync()).Select(m => m.Id).Should().Equal(trained.ModelId);
        Directory.GetFiles(CheckpointDirectory).Should().HaveCount(1, "no copy was written");
    }

    [Test]
    public async Task Delete_RemovesRecordFileAndCacheEntry()
    {
        await AddSamplesAsync(4, 20, seed: 1);
        AgeGroupTrainingResult trained = await Manager.TrainAgeGroupModelAsync(3, 5);
        float[] probe = new float[Dimension];
        await Manager.ScoreAsync(probe, 4);
        Manager.CachedModelCount.Should().Be(1);

        await Manager.DeleteAsync(trained.ModelId);

        (await Store.GetModelAsync(trained.ModelId)).Should().BeNull();
        Directory.GetFiles(CheckpointDirectory).Should().BeEmpty();
        Manager.CachedModelCount.Should().Be(0);
        await FluentActions.Awaiting(() => Manager.ScoreAsync(probe, 4).AsTask()).Should().ThrowAsync<NoModelForAgeException>();
        (await FluentActions.Awaiting(() => Manager.ComputeReconstructionLossAsync(probe, trained.ModelId)).Should().ThrowAsync<ModelLoadingException>())
            .Which.Reason.Should().Be(ModelLoadFailure.UnknownModel);
        await FluentActions.Awaiting(() => Manager.DeleteAsync(trained.ModelId)).Should().ThrowAsync<ModelNotFoundException>();
        await FluentActions.Awaiting(() => Manager.ActivateAsync(trained.ModelId)).Should().ThrowAsync<ModelNotFoundException>();
    }

    [Test]
    public async Task EveryCallTakingAModelId_ForAnUnknownId_ThrowsModelNotFoundException_WhichIsALoadingErrorOfReasonUnknownModel()
    {
        var unknown = Guid.NewGuid();
        float[] probe = new float[Dimension];
        Func<Task>[] calls =
        [
            () => Manager.GetModelInfoAsync(unknown),
            () => Manager.LoadModelAsync(unknown),
            () => Manager.ComputeReconstructionLossAsync(probe, unknown),
            () => Manager.ComputeReconstructionLossesAsync([probe], unknown),
            () => Manager.ActivateAsync(unknown),
            () => Manager.DeactivateAsync(unknown),
            () => Manager.DeleteAsync(unknown),
        ];

        foreach (Func<Task> call in calls)
        {
            ModelNotFoundException thrown = (await call.Should().ThrowExactlyAsync<ModelNotFoundException>()).Which;
            thrown.Should().BeAssignableTo<ModelLoadingException>("a failed load stays a loading error");
            thrown.ModelId.Should().Be(unknown);
            thrown.Reason.Should().Be(ModelLoadFailure.UnknownModel);
            thrown.Message.Should().Contain(unknown.ToString());
        }
    }

    [Test]
    public async Task ComputeReconstructionLosses_EqualsOneByOne_ForFloatArraysAndMemoryRows()
    {
        await AddSamplesAsync(4, 30, seed: 1);
        AgeGroupTrainingResult trained = await Manager.TrainAgeGroupModelAsync(3, 5);
        float[][] rows = TestData.Embeddings(300, Dimension, seed: 5);
        float[] block = [.. rows.SelectMany(r => r)];

        IReadOnlyList<double> losses = await Manager.ComputeReconstructionLossesAsync([.. rows.Select(r => (ReadOnlyMemory<float>)r)], trained.ModelId);
        IReadOnlyList<ScoreResult> fromBlock = await Manager.ScoreBatchAsync(block, Dimension, 4);

        for (int i = 0; i < rows.Length; i++)
        {
            double single = await Manager.ComputeReconstructionLossAsync(rows[i], trained.ModelId);
            losses[i].Should().Be(single);
            fromBlock[i].ReconstructionLoss.Should().Be(single);
        }
    }

    [Test]
    public async Task TrainAgeGroupModel_TrainsOnAThreadTheManagerOwns_NeverOnThePool()
    {
        await AddSamplesAsync(4, 20, seed: 1);
        var threads = new List<(bool Pool, string? Name)>();

        await Manager.TrainAgeGroupModelAsync(3, 5, progress: new SyncProgress<EpochRecord>(_ => threads.Add((Thread.CurrentThread.IsThreadPoolThread, Thread.CurrentThread.Name))));

        threads.Should().NotBeEmpty().And.OnlyContain(t => !t.Pool && t.Name!.StartsWith("ModelManager training", StringComparison.Ordinal));
    }

    [Test]
    public async Task TrainAgeGroupModel_AfterDispose_ThrowsObjectDisposed_WhileScoringStillWorks()
    {
        await AddSamplesAsync(4, 20, seed: 1);
        await Manager.TrainAgeGroupModelAsync(3, 5);

        Manager.Dispose();

        await FluentActions.Awaiting(() => Manager.TrainAgeGroupModelAsync(3, 5)).Should().ThrowAsync<ObjectDisposedException>();
        (await Manager.ScoreAsync(new float[Dimension], 4)).ReconstructionLoss.Should().BeGreaterThan(0);
    }

    [Test]
    public async Task TrainAgeGroupModel_ARangeOverlappingAnActiveOne_IsRefusedBeforeTraining_AndWritesNothing()
    {
        await AddSamplesAsync(3, 30, seed: 1);
        AgeGroupTrainingResult wide = await Manager.TrainAgeGroupModelAsync(3, 4);

        OverlappingRangeException thrown = (await FluentActions.Awaiting(() => Manager.TrainAgeGroupModelAsync(3, 3.5))
            .Should().ThrowAsync<OverlappingRangeException>()).Which;

        thrown.ActiveModelId.Should().Be(wide.ModelId);
        thrown.Message.Should().Contain("[3, 3.5]").And.Contain("[3, 4]").And.Contain("AllowOverlappingRanges");
        (await Store.ListModelsAsync()).Should().ContainSingle();
        Directory.GetFiles(CheckpointDirectory).Should().ContainSingle();
        (await Manager.ScoreAsync(new float[Dimension], 3)).ModelId.Should().Be(wide.ModelId);
    }

    [Test]
    public async Task TrainAgeGroupModel_WithOverlapsAllowed_TrainsAndLogsWhatItOverlaps()
    {
        await AddSamplesAsync(3, 30, seed: 1);
        var logs = new ListLoggerFactory();
        using ModelManager manager = CreateManager(allowOverlaps: true, logging: logs);
        AgeGroupTrainingResult wide = await manager.TrainAgeGroupModelAsync(3, 4);

        AgeGroupTrainingResult narrow = await manager.TrainAgeGroupModelAsync(3, 3.5);

        (await manager.ScoreAsync(new float[Dimension], 3)).ModelId.Should().Be(narrow.ModelId, "equal AgeMin: the newest wins");
        logs.Entries.Should().Contain(e => e.Id.Id == 2007 && e.Level == Microsoft.Extensions.Logging.LogLevel.Warning && e.Message.Contains(wide.ModelId.ToString(), StringComparison.Ordinal));
    }

    [Test]
    public async Task TrainAgeGroupModel_ExactlyAnActiveRange_ReplacesIt_AndLogsTheReplacement()
    {
        await AddSamplesAsync(4, 30, seed: 1);
        var logs = new ListLoggerFactory();
        using ModelManager manager = CreateManager(logging: logs);
        AgeGroupTrainingResult first = await manager.TrainAgeGroupModelAsync(3, 5);

        AgeGroupTrainingResult second = await manager.TrainAgeGroupModelAsync(3, 5);

        (await Store.GetModelAsync(first.ModelId))!.IsActive.Should().BeFalse();
        logs.Entries.Should().Contain(e => e.Id.Id == 2006 && e.Message.Contains(second.ModelId.ToString(), StringComparison.Ordinal) && e.Message.Contains(first.ModelId.ToString(), StringComparison.Ordinal));
    }

    [Test]
    public async Task Activate_AModelOverlappingAnotherActiveOne_IsRefused_ButSharedBoundariesAreFine()
    {
        await AddSamplesAsync(5, 30, seed: 1);
        await AddSamplesAsync(7, 30, seed: 2);
        AgeGroupTrainingResult narrow = await Manager.TrainAgeGroupModelAsync(5, 5.5);
        await Manager.DeactivateAsync(narrow.ModelId);
        AgeGroupTrainingResult wide = await Manager.TrainAgeGroupModelAsync(4, 6);
        AgeGroupTrainingResult next = await Manager.TrainAgeGroupModelAsync(6, 8); // shares only age 6

        await FluentActions.Awaiting(() => Manager.ActivateAsync(narrow.ModelId)).Should().ThrowAsync<OverlappingRangeException>();

        (await Store.GetModelAsync(narrow.ModelId))!.IsActive.Should().BeFalse();
        (await Store.GetModelAsync(wide.ModelId))!.IsActive.Should().BeTrue();
        (await Store.GetModelAsync(next.ModelId))!.IsActive.Should().BeTrue();
    }

    [TestCase(3, 5, 5, 8, false)]   // a shared boundary age between two real ranges
    [TestCase(3, 5, 3, 5, false)]   // the same range: a replacement
    [TestCase(3, 5, 6, 8, false)]
    [TestCase(3, 4, 3, 3.5, true)]
    [TestCase(3, 5, 4, 8, true)]
    [TestCase(3, 8, 4, 5, true)]
    [TestCase(5, 5, 3, 5, true)]    // a one-age range on another's boundary is inside it
    [TestCase(5, 5, 5, 5, false)]
    public void Overlaps_CountsCommonAgesButNotASharedBoundary(double aMin, double aMax, double bMin, double bMax, bool expected)
    {
        RangeOverlap.Overlaps(aMin, aMax, bMin, bMax).Should().Be(expected);
        RangeOverlap.Overlaps(bMin, bMax, aMin, aMax).Should().Be(expected, "the relation is symmetric");
    }

    [Test]
    public async Task Score_NamesTheFeaturesWithTheLargestSquaredErrors_TheSameForSingleAndBatchScores()
    {
        await AddSamplesAsync(4, 30, seed: 1);
        using ModelManager manager = new(Store, new ModelManagerOptions { CheckpointDirectory = CheckpointDirectory, DefaultTrainingConfig = Fast, ExplainTopFeatures = 4 });
        AgeGroupTrainingResult trained = await manager.TrainAgeGroupModelAsync(3, 5);
        float[][] probes = TestData.Embeddings(200, Dimension, seed: 6);
        probes[0][5] += 50; // one feature far off: it must come first

        IReadOnlyList<ScoreResult> batch = await manager.ScoreBatchAsync(probes, 4);
        ScoreResult single = await manager.ScoreAsync(probes[0], 4);

        single.TopFeatures.Should().HaveCount(4).And.BeInDescendingOrder(f => f.SquaredError);
        single.TopFeatures[0].Index.Should().Be(5);
        single.TopFeatures.Sum(f => f.SquaredError).Should().BeLessThanOrEqualTo((single.ReconstructionLoss * Dimension) + 1e-9, "they are shares of the summed squared error");
        for (int i = 0; i < probes.Length; i++)
        {
            batch[i].TopFeatures.Should().Equal((await manager.ScoreAsync(probes[i], 4)).TopFeatures, $"row {i}: batch and single explain alike");
        }

        var kernel = new InferenceKernel(trained.Training.Weights);
        var reconstruction = new float[Dimension];
        kernel.Reconstruct(probes[1], reconstruction);
        float[] standardized = [.. probes[1]];
        trained.Training.Weights.Standardizer?.Apply(probes[1], standardized);
        float[] rebuilt = [.. reconstruction];
        trained.Training.Weights.Standardizer?.Apply(reconstruction, rebuilt);
        int[] expected = [.. Enumerable.Range(0, Dimension).OrderByDescending(j => Math.Pow((double)standardized[j] - rebuilt[j], 2)).ThenBy(j => j).Take(4)];
        batch[1].TopFeatures.Select(f => f.Index).Should().Equal(expected, "the largest squared errors of the model's own reconstruction");
    }

    [Test]
    public async Task Score_WithExplanationsOff_NamesNoFeatures()
    {
        await AddSamplesAsync(4, 30, seed: 1);
        using ModelManager manager = new(Store, new ModelManagerOptions { CheckpointDirectory = CheckpointDirectory, DefaultTrainingConfig = Fast, ExplainTopFeatures = 0 });
        await manager.TrainAgeGroupModelAsync(3, 5);

        (await manager.ScoreAsync(new float[Dimension], 4)).TopFeatures.Should().BeEmpty();
        FluentActions.Invoking(() => new ModelManagerOptions { ExplainTopFeatures = 65 }.Validate()).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*ExplainTopFeatures is 65*");
    }

    [Test]
    public async Task GetModelInfoAndListModels_DescribeEveryModelOrderedByAgeMin()
    {
        await AddSamplesAsync(4, 20, seed: 1);
        await AddSamplesAsync(8, 20, seed: 2);
        AgeGroupTrainingResult older = await Manager.TrainAgeGroupModelAsync(7, 9);
        AgeGroupTrainingResult younger = await Manager.TrainAgeGroupModelAsync(3, 5);

        IReadOnlyList<ModelInfo> models = await Manager.ListModelsAsync();
        ModelInfo info = await Manager.GetModelInfoAsync(older.ModelId);

        models.Select(m => m.Id).Should().Equal(younger.ModelId, older.ModelId);
        info.AgeMin.Should().Be(7);
        info.ModelType.Should().Be("autoencoder");
        info.EmbeddingDimension.Should().Be(Dimension);
        info.SampleCount.Should().Be(20);
        info.Threshold.Should().Be(older.Threshold);
        info.IsActive.Should().BeTrue();
        info.Training.Architecture.HiddenSizes.Should().Equal(8, 4);
        info.Training.Config.Should().Be(Fast);
        info.Training.Metrics.Percentile95.Should().Be(older.Training.Metrics.Percentile95);
        info.Training.History.Should().HaveCount(older.Training.EpochsTrained);
        info.Training.ThresholdPolicy.Percentile.Should().Be(95);

        // Everything the training reported is readable from the stored model, field for field.
        TrainingSummary stored = info.Training;
        stored.StopReason.Should().Be(older.Training.StopReason);
        stored.BestEpoch.Should().Be(older.Training.BestEpoch);
        stored.BestValidationLoss.Should().Be(older.Training.BestValidationLoss);
        stored.ValidationMetrics.Should().BeEquivalentTo(older.Training.ValidationMetrics);
        stored.TrainCount.Should().Be(older.Training.TrainCount);
        stored.ValidationCount.Should().Be(older.Training.ValidationCount);
        stored.Duration.Should().Be(older.Training.Duration);
        stored.FinalValidationLoss.Should().Be(older.Training.FinalValidationLoss);
        older.Model.Should().BeEquivalentTo(info, o => o.Excluding(m => m.Training), "the training result describes the stored model");
        (await Store.GetModelAsync(older.ModelId))!.ParametersJson.Should().NotContain("Weights").And.NotContain("ValidationRowIndices", "the record keeps the summary, the checkpoint the weights");
        await FluentActions.Awaiting(() => Manager.GetModelInfoAsync(Guid.NewGuid())).Should().ThrowAsync<ModelNotFoundException>();
    }

    [Test]
    public async Task ClearModelCache_DropsLoadedModels()
    {
        await AddSamplesAsync(4, 20, seed: 1);
        await Manager.TrainAgeGroupModelAsync(3, 5);
        await Manager.ScoreAsync(new float[Dimension], 4);

        Manager.ClearModelCache();

        Manager.CachedModelCount.Should().Be(0);
        (await Manager.ScoreAsync(new float[Dimension], 4)).Should().NotBeNull();
        Manager.CachedModelCount.Should().Be(1);
    }

    [Test]
    public async Task Cache_IsBoundedByItsCapacity()
    {
        ModelManager manager = CreateManager(cacheCapacity: 1);
        await AddSamplesAsync(4, 20, seed: 1);
        await AddSamplesAsync(8, 20, seed: 2);
        await manager.TrainAgeGroupModelAsync(3, 5);
        await manager.TrainAgeGroupModelAsync(7, 9);

        await manager.ScoreAsync(new float[Dimension], 4);
        await manager.ScoreAsync(new float[Dimension], 8);

        manager.CachedModelCount.Should().Be(1);
    }

    [Test]
    public async Task PlanAndTrainAll_ProposesRangesWithEnoughSamplesAndTrainsEachWithProgress()
    {
        await AddSamplesAsync(3, 30, seed: 1);
        await AddSamplesAsync(4, 30, seed: 2);
        await AddSamplesAsync(5, 60, seed: 3);
        await AddSamplesAsync(6, 10, seed: 4);
        await AddSamplesAsync(7, 10, seed: 5);
        await AddSamplesAsync(12, 5, seed: 6);
        var plan = new AgeGroupPlanOptions { MinSamples = 50, MaxSpanYears = 4 };

        IReadOnlyList<AgeGroupPlan> groups = await Manager.PlanAgeGroupsAsync(plan);
        var progress = new List<AgeGroupProgress>();
        IReadOnlyList<AgeGroupTrainingResult> trained = await Manager.TrainAllAgeGroupsAsync(plan, progress: new SyncProgress<AgeGroupProgress>(progress.Add));

        groups.Should().Equal(
            new AgeGroupPlan(3, 4, 60, true),
            new AgeGroupPlan(5, 7, 80, true),
            new AgeGroupPlan(12, 12, 5, false));
        trained.Select(t => (t.AgeMin, t.AgeMax)).Should().Equal((3.0, 4.0), (5.0, 7.0));
        progress.Should().HaveCount(2 * Fast.Epochs);
        progress.Select(p => p.GroupIndex).Distinct().Should().Equal(0, 1);
        progress.Should().OnlyContain(p => p.GroupCount == 2 && p.MaxEpochs == Fast.Epochs);
    }

    [Test]
    public async Task Scoring_FromManyThreadsWhileTrainingActivatingAndClearing_GivesSingleThreadedResults()
    {
        await AddSamplesAsync(4, 30, seed: 1);
        AgeGroupTrainingResult v1 = await Manager.TrainAgeGroupModelAsync(3, 5);
        float[][] probes = TestData.Embeddings(8, Dimension, seed: 21);
        var expected = new Dictionary<Guid, double[]>
        {
            [v1.ModelId] = [.. probes.Select(p => new InferenceKernel(v1.Training.Weights).ReconstructionLoss(p))],
        };
        using var stop = new CancellationTokenSource();
        long scored = 0;
        var mismatches = new List<string>();

        // Dedicated threads: eight loops that rarely yield would starve the thread pool the test's own continuations need.
        Task[] scorers = [.. Enumerable.Range(0, 8).Select(t => Task.Factory.StartNew(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                int i = (int)(Interlocked.Increment(ref scored) % probes.Length);
                ScoreResult r = Manager.ScoreAsync(probes[i], 4).AsTask().GetAwaiter().GetResult();
                lock (mismatches)
                {
                    if (expected.TryGetValue(r.ModelId, out double[]? losses) && losses[i] != r.ReconstructionLoss)
                    {
                        mismatches.Add($"{r.ModelId} probe {i}: {r.ReconstructionLoss} != {losses[i]}");
                    }
                }
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default))];

        // One libtorch thread: OpenMP's spinning barrier starves when eight scorers hold both cores.
        AgeGroupTrainingResult v2 = await Manager.TrainAgeGroupModelAsync(3, 5, Fast with { Seed = 5, CpuThreads = 1 });
        lock (mismatches)
        {
            expected[v2.ModelId] = [.. probes.Select(p => new InferenceKernel(v2.Training.Weights).ReconstructionLoss(p))];
        }

        for (int round = 0; round < 10; round++)
        {
            await Manager.ActivateAsync(round % 2 == 0 ? v1.ModelId : v2.ModelId);
            Manager.ClearModelCache();
            await Task.Delay(5);
        }

        while (Interlocked.Read(ref scored) <= 100 && !scorers.Any(t => t.IsCompleted))
        {
            await Task.Delay(5); // however slowly a loaded machine runs the scorers, they get there (a failed scorer ends the wait)
        }

        await stop.CancelAsync();
        await Task.WhenAll(scorers);

        mismatches.Should().BeEmpty();
        Interlocked.Read(ref scored).Should().BeGreaterThan(100);
        TestContext.Out.WriteLine($"concurrent scores: {Interlocked.Read(ref scored)} by 8 threads during 1 training, 10 activations and 10 cache clears");
    }

    [Test]
    public async Task Score_OnACachedModel_AllocatesOnlyTheResult()
    {
        await AddSamplesAsync(4, 20, seed: 1);
        using ModelManager manager = new(Store, new ModelManagerOptions
        {
            CheckpointDirectory = CheckpointDirectory,
            DefaultTrainingConfig = Fast,
            ActiveModelsRefreshInterval = TimeSpan.MaxValue, // no routing refresh inside the measured loop, however slowly it runs
        });
        await manager.TrainAgeGroupModelAsync(3, 5);
        float[] probe = TestData.Embeddings(1, Dimension, seed: 2)[0];
        await manager.ScoreAsync(probe, 4);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            await manager.ScoreAsync(probe, 4);
        }

        long perCall = (GC.GetAllocatedBytesForCurrentThread() - before) / 1000;
        perCall.Should().BeLessThanOrEqualTo(88 + 24 + (16 * 3), "one ScoreResult and its array of 3 top features, nothing else");
    }

    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }

    /// <summary>Delegates to a real store but fails when a model is recorded.</summary>
    private sealed class FailingAddModelStore(IModelStore inner) : IModelStore
    {
        public Task<long> AddSampleAsync(NewSample sample, CancellationToken cancellationToken = default) => inner.AddSampleAsync(sample, cancellationToken);

        public Task<IReadOnlyList<long>> AddSamplesAsync(IReadOnlyList<NewSample> samples, CancellationToken cancellationToken = default) => inner.AddSamplesAsync(samples, cancellationToken);

        public Task<int> CountSamplesAsync(double ageMin, double ageMax, CancellationToken cancellationToken = default) => inner.CountSamplesAsync(ageMin, ageMax, cancellationToken);

        public Task<bool> DeleteSampleAsync(long id, CancellationToken cancellationToken = default) => inner.DeleteSampleAsync(id, cancellationToken);

        public Task<int> DeleteSamplesAsync(double ageMin, double ageMax, CancellationToken cancellationToken = default) => inner.DeleteSamplesAsync(ageMin, ageMax, cancellationToken);

        public Task<IReadOnlyList<SampleRecord>> GetSamplesAsync(double ageMin, double ageMax, CancellationToken cancellationToken = default) => inner.GetSamplesAsync(ageMin, ageMax, cancellationToken);

        public Task<SampleRecord?> GetSampleAsync(long id, CancellationToken cancellationToken = default) => inner.GetSampleAsync(id, cancellationToken);

        public Task<IReadOnlyList<double>> GetSampleAgesAsync(CancellationToken cancellationToken = default) => inner.GetSampleAgesAsync(cancellationToken);

        public Task AddModelAsync(ModelRecord model, CancellationToken cancellationToken = default) => throw new IOException("disk full");

        public Task<ModelRecord?> GetModelAsync(Guid id, CancellationToken cancellationToken = default) => inner.GetModelAsync(id, cancellationToken);

        public Task<IReadOnlyList<ModelRecord>> ListModelsAsync(CancellationToken cancellationToken = default) => inner.ListModelsAsync(cancellationToken);

        public Task<IReadOnlyList<ModelRecord>> FindActiveModelsAsync(double age, CancellationToken cancellationToken = default) => inner.FindActiveModelsAsync(age, cancellationToken);

        public Task<bool> ActivateModelAsync(Guid id, CancellationToken cancellationToken = default) => inner.ActivateModelAsync(id, cancellationToken);

        public Task<bool> DeactivateModelAsync(Guid id, CancellationToken cancellationToken = default) => inner.DeactivateModelAsync(id, cancellationToken);

        public Task<bool> DeleteModelAsync(Guid id, CancellationToken cancellationToken = default) => inner.DeleteModelAsync(id, cancellationToken);
    }
}

[TestFixture]
public sealed class ModelManagerOnSqliteTests : ModelManagerTests
{
    protected override IModelStore CreateStore(string directory) => new SqliteModelStore(Path.Combine(directory, "models.db"));
}

[TestFixture]
public sealed class ModelManagerInMemoryTests : ModelManagerTests
{
    protected override IModelStore CreateStore(string directory) => new InMemoryModelStore();
}
