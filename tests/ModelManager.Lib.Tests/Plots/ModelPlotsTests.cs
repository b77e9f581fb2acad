using AgeGroupAnomaly.Plots;
using AgeGroupAnomaly.Storage;
using AgeGroupAnomaly.Storage.Sqlite;
using AgeGroupAnomaly.Training;
using FluentAssertions;
using Microsoft.Data.Sqlite;
using NUnit.Framework;
using SkiaSharp;

namespace AgeGroupAnomaly.Tests.Plots;

/// <summary>
/// The PNG files of a real (tiny) trained model: they exist, decode, have the requested size and
/// carry drawn text and bars. Set MMLIB_KEEP_PLOTS=DIR to keep them for a look.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class ModelPlotsTests
{
    private static readonly ModelPlotOptions Size = new() { Width = 640, Height = 400, Bins = 30 };
    private string _directory = null!;
    private ModelInfo _model = null!;
    private double[] _batchLosses = null!;

    [OneTimeSetUp]
    public async Task TrainATinyModel()
    {
        _directory = TestEnvironment.CreateTempDirectory();
        using var store = new SqliteModelStore(Path.Combine(_directory, "plots.db"));
        using var manager = new ModelManager(store, new ModelManagerOptions { CheckpointDirectory = Path.Combine(_directory, "ck") });
        await store.AddSamplesAsync([.. TestData.Embeddings(120, 8, seed: 3).Select(e => new NewSample(4, e))]);
        var config = TrainingConfig.Default with { Epochs = 25, EarlyStoppingPatience = 25, BatchSize = 16, Seed = 7 };
        AgeGroupTrainingResult trained = await manager.TrainAgeGroupModelAsync(3, 5, config);
        _model = trained.Model;

        // A batch of normal rows and a few far-off ones, scored with this model.
        float[][] batch = [.. TestData.Embeddings(60, 8, seed: 9), .. TestData.Embeddings(6, 8, seed: 11, scale: 4f, offset: 2f)];
        _batchLosses = [.. await manager.ComputeReconstructionLossesAsync([.. batch.Select(b => (ReadOnlyMemory<float>)b)], _model.Id)];
        SqliteConnection.ClearAllPools();
    }

    [OneTimeTearDown]
    public void DeleteFolder()
    {
        if (Environment.GetEnvironmentVariable("MMLIB_KEEP_PLOTS") is { Length: > 0 } keep)
        {
            Directory.CreateDirectory(keep);
            foreach (string png in Directory.GetFiles(_directory, "*.png", SearchOption.AllDirectories))
            {
                File.Copy(png, Path.Combine(keep, Path.GetFileName(Path.GetDirectoryName(png)!) + "-" + Path.GetFileName(png)), overwrite: true);
            }
        }

        Directory.Delete(_directory, recursive: true);
    }

    [Test]
    public void WriteTrainingCurves_WritesAPngOfTheRequestedSize_WithTitleTextAndBothLines()
    {
        string path = Path.Combine(_directory, "curves", "training-curves.png");

        ModelPlots.WriteTrainingCurves(_model, path, Size);

        using SKBitmap image = Decode(path);
        DarkPixelsInTitleBand(image).Should().BeGreaterThan(100, "the title is drawn in the embedded font");
        CountNear(image, SKColor.Parse("#1f77b4")).Should().BeGreaterThan(50, "the train-loss line is drawn");
        CountNear(image, SKColor.Parse("#ff7f0e")).Should().BeGreaterThan(50, "the validation-loss line is drawn");
    }

    [Test]
    public void WriteTrainingCurves_WithALearningRateDrop_DrawsMoreThanWithout()
    {
        EpochRecord[] flat = [.. _model.Training.History.Select(e => e with { LearningRate = 0.001 })];
        EpochRecord[] dropped = [.. flat.Select(e => e.Epoch > 10 ? e with { LearningRate = 0.0005 } : e)];
        string without = Path.Combine(_directory, "lr", "without.png");
        string with = Path.Combine(_directory, "lr", "with.png");

        ModelPlots.WriteTrainingCurves(_model with { Training = _model.Training with { History = [.. flat] } }, without, Size);
        ModelPlots.WriteTrainingCurves(_model with { Training = _model.Training with { History = [.. dropped] } }, with, Size);

        using SKBitmap a = Decode(without);
        using SKBitmap b = Decode(with);
        CountNear(b, SKColor.Parse("#7f7f7f")).Should().BeGreaterThan(CountNear(a, SKColor.Parse("#7f7f7f")) + 20, "the drop is marked by a grey dotted line");
    }

    [Test]
    public void WriteCalibrationErrors_DrawsBarsBelowAndAboveTheThreshold_WithTitleText()
    {
        string path = Path.Combine(_directory, "calibration", "calibration-errors.png");

        ModelPlots.WriteCalibrationErrors(_model, path, Size);

        using SKBitmap image = Decode(path);
        DarkPixelsInTitleBand(image).Should().BeGreaterThan(100);
        CountNear(image, SKColor.Parse("#4c72b0")).Should().BeGreaterThan(200, "most calibration errors lie at or below the 95th percentile");
        CountNear(image, SKColor.Parse("#d62728")).Should().BeGreaterThan(20, "5 % lie above it, and the threshold line is red");
    }

    [Test]
    public void WriteScoreDistribution_WithFarOffRows_DrawsRedBarsAboveTheThreshold()
    {
        string path = Path.Combine(_directory, "scores", "score-distribution.png");

        ModelPlots.WriteScoreDistribution(_model, _batchLosses, path, Size);

        using SKBitmap image = Decode(path);
        DarkPixelsInTitleBand(image).Should().BeGreaterThan(100);
        CountNear(image, SKColor.Parse("#d62728")).Should().BeGreaterThan(20);
    }

    [Test]
    public void WriteScoreDistribution_AnErrorEqualToTheThreshold_IsNotDrawnAsFlagged()
    {
        double t = _model.Threshold;
        int RedPixels(string name, double[] losses)
        {
            string path = Path.Combine(_directory, "edge", name);
            ModelPlots.WriteScoreDistribution(_model, losses, path, Size);
            using SKBitmap image = Decode(path);
            return CountNear(image, SKColor.Parse("#d62728"));
        }

        int lineOnly = RedPixels("below.png", [t * 0.2, t * 0.5, t * 0.9]);
        int atThreshold = RedPixels("at.png", [t * 0.2, t * 0.5, t]);
        int above = RedPixels("above.png", [t * 0.2, t * 0.5, t * 1.5]);

        atThreshold.Should().BeCloseTo(lineOnly, 30, "a loss equal to the threshold is not an anomaly (IsAnomaly is loss > threshold)");
        above.Should().BeGreaterThan(lineOnly + 300, "a loss above it is a red bar");
    }

    [Test]
    public void WriteReport_WritesTheThreePngs_IntoTheFolder()
    {
        string folder = Path.Combine(_directory, "report");

        ModelReport report = ModelPlots.WriteReport(_model, folder, _batchLosses, Size);

        report.Files.Select(Path.GetFileName).Should().Equal(ModelPlots.TrainingCurvesFileName, ModelPlots.CalibrationErrorsFileName, ModelPlots.ScoreDistributionFileName);
        report.Files.Should().OnlyContain(f => File.Exists(f));
        Directory.GetFiles(folder).Should().HaveCount(3, "no temporary file is left behind");
    }

    [Test]
    public void WriteReport_ForAModelWithoutHistory_SkipsTheTrainingCurves()
    {
        ModelInfo imported = _model with { Training = _model.Training with { History = [] } };

        ModelReport report = ModelPlots.WriteReport(imported, Path.Combine(_directory, "imported"), options: Size);

        report.TrainingCurves.Should().BeNull();
        report.ScoreDistribution.Should().BeNull();
        File.Exists(report.CalibrationErrors).Should().BeTrue();
    }

    [Test]
    public void WriteReport_ForAModelImportedWithAGivenThreshold_DrawsOnlyTheScoreDistribution()
    {
        // What an import with the original's threshold stores: no history, the threshold as the only "error", no percentile.
        ModelInfo imported = _model with
        {
            Training = _model.Training with
            {
                History = [],
                Metrics = LossStatistics.FromLosses([_model.Threshold]),
                ValidationMetrics = LossStatistics.FromLosses([_model.Threshold]),
                ThresholdPolicy = new ThresholdPolicy(double.NaN, "given at import", "none: imported with its threshold"),
            },
        };

        ModelReport report = ModelPlots.WriteReport(imported, Path.Combine(_directory, "imported-threshold"), _batchLosses, Size);
        Action calibration = () => ModelPlots.WriteCalibrationErrors(imported, Path.Combine(_directory, "imported-threshold.png"), Size);

        report.Files.Select(Path.GetFileName).Should().Equal(ModelPlots.ScoreDistributionFileName);
        calibration.Should().Throw<ArgumentException>().WithMessage("*no calibration errors*");
    }

    [Test]
    public void WriteTrainingCurves_WithoutHistory_ThrowsArgumentExceptionNamingIt()
    {
        ModelInfo imported = _model with { Training = _model.Training with { History = [] } };

        Action write = () => ModelPlots.WriteTrainingCurves(imported, Path.Combine(_directory, "none.png"));

        write.Should().Throw<ArgumentException>().WithMessage("*no training history*");
        File.Exists(Path.Combine(_directory, "none.png")).Should().BeFalse();
    }

    [TestCase(new double[0], "*empty*")]
    [TestCase(new[] { 0.1, double.NaN }, "*Error 1*NaN*")]
    [TestCase(new[] { -0.1 }, "*Error 0*")]
    public void WriteScoreDistribution_WithABadBatch_ThrowsArgumentExceptionAndWritesNothing(double[] losses, string message)
    {
        string path = Path.Combine(_directory, "bad.png");

        Action write = () => ModelPlots.WriteScoreDistribution(_model, losses, path);

        write.Should().Throw<ArgumentException>().WithMessage(message);
        File.Exists(path).Should().BeFalse();
    }

    [Test]
    public void Write_OverAnExistingFolder_FailsAndLeavesNoTemporaryFile()
    {
        string folder = Path.Combine(_directory, "occupied");
        string target = Path.Combine(folder, "curves.png");
        Directory.CreateDirectory(target); // a folder where the PNG should go

        Action write = () => ModelPlots.WriteTrainingCurves(_model, target, Size);

        write.Should().Throw<IOException>();
        Directory.GetFiles(folder).Should().BeEmpty();
    }

    [TestCase(10, 400, 30, "Width")]
    [TestCase(640, 90000, 30, "Height")]
    [TestCase(640, 400, 1, "Bins")]
    public void Options_OutOfRange_ThrowNamingTheField(int width, int height, int bins, string field)
    {
        var options = new ModelPlotOptions { Width = width, Height = height, Bins = bins };

        Action write = () => ModelPlots.WriteCalibrationErrors(_model, Path.Combine(_directory, "x.png"), options);

        write.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be(field);
    }

    [Test]
    public void EmbeddedFont_ResolvesDejaVuSansFromTheAssembly_RegularAndBold()
    {
        var font = new EmbeddedFont();

        using SKTypeface? regular = font.CreateTypeface(EmbeddedFont.Family, bold: false, italic: false);
        using SKTypeface? bold = font.CreateTypeface(EmbeddedFont.Family, bold: true, italic: false);

        regular.Should().NotBeNull();
        regular!.FamilyName.Should().Be("DejaVu Sans");
        regular.ContainsGlyphs("Training curves 0123456789").Should().BeTrue();
        bold!.FontStyle.Weight.Should().BeGreaterThan(regular.FontStyle.Weight);
        font.CreateTypeface("Some Other Font", false, false).Should().BeNull("other names fall through to ScottPlot's other resolvers");
    }

    private static SKBitmap Decode(string path)
    {
        File.Exists(path).Should().BeTrue();
        SKBitmap? image = SKBitmap.Decode(path);
        image.Should().NotBeNull("the file is a PNG");
        image!.Width.Should().Be(Size.Width);
        image.Height.Should().Be(Size.Height);
        return image;
    }

    /// <summary>Dark pixels in the middle of the top band, where the title is centred.</summary>
    private static int DarkPixelsInTitleBand(SKBitmap image)
    {
        int dark = 0;
        for (int y = 0; y < image.Height * 8 / 100; y++)
        {
            for (int x = image.Width / 5; x < image.Width * 4 / 5; x++)
            {
                SKColor c = image.GetPixel(x, y);
                dark += c.Red + c.Green + c.Blue < 200 ? 1 : 0;
            }
        }

        return dark;
    }

    private static int CountNear(SKBitmap image, SKColor color)
    {
        int count = 0;
        for (int y = 0; y < image.Height; y++)
        {
            for (int x = 0; x < image.Width; x++)
            {
                SKColor c = image.GetPixel(x, y);
                count += Math.Abs(c.Red - color.Red) + Math.Abs(c.Green - color.Green) + Math.Abs(c.Blue - color.Blue) < 30 ? 1 : 0;
            }
        }

        return count;
    }
}
