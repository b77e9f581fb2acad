using FluentAssertions;
using NUnit.Framework;
using SkiaSharp;

namespace AgeGroupAnomaly.Tests.Samples;

/// <summary>
/// The EmbeddingsCli tool as a script sees it: help for every command, the documented exit codes
/// (0 done, 1 failed, 2 usage, 3 anomalies with --fail-on-anomaly) and errors in one line.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class EmbeddingsCliTests : ProgramTestBase
{
    private string[] Store => ["--db", Path.Combine(Work, "e.db"), "--checkpoints", Path.Combine(Work, "ck")];

    [TestCase("import", "FILE.csv")]
    [TestCase("plan", "--min-samples")]
    [TestCase("train", "--epochs")]
    [TestCase("list", "--json")]
    [TestCase("score", "--fail-on-anomaly")]
    [TestCase("report", "--batch")]
    public void Help_OfEveryCommand_ExitsZeroAndDescribesItsArguments(string command, string mentioned)
    {
        (int exit, string output, string errors) = RunCli(command, "--help");

        exit.Should().Be(0, errors);
        output.Should().Contain($"embeddings {command}").And.Contain(mentioned).And.Contain("--db");
    }

    [Test]
    public void NoArguments_PrintsTheCommandList_AndExitsWithTheUsageCode()
    {
        (int exit, string output, _) = RunCli();

        exit.Should().Be(2);
        output.Should().Contain("import").And.Contain("train").And.Contain("report");
    }

    [TestCase(new[] { "trian" }, "did you mean 'train'")]
    [TestCase(new[] { "train", "--epochs", "0" }, "--epochs must be at least 1")]
    [TestCase(new[] { "train", "--epochs", "many" }, "'many'")]
    [TestCase(new[] { "train", "--ages", "5-3" }, "'5-3' is not one")]
    [TestCase(new[] { "list", "--colour" }, "'--colour'")]
    [TestCase(new[] { "score" }, "IN.csv")]
    public void UsageMistakes_ExitTwo_WithOneErrorLine(string[] arguments, string problem)
    {
        (int exit, string output, string errors) = RunCli(arguments);

        exit.Should().Be(2);
        errors.Trim().Should().StartWith("error: ").And.Contain(problem).And.NotContain("\n", "an error is one line");
        output.Should().BeEmpty();
    }

    [Test]
    public void ACommandOnAMissingDatabase_ExitsOne_AndCreatesNoDatabase()
    {
        (int exit, _, string errors) = RunCli(["list", .. Store]);

        exit.Should().Be(1);
        errors.Trim().Should().Contain("does not exist").And.NotContain("\n");
        File.Exists(Path.Combine(Work, "e.db")).Should().BeFalse("a mistyped --db must not leave an empty database behind");
    }

    [Test]
    public void Train_WithTooFewSamplesForAnyGroup_ExitsOneSayingSo()
    {
        Import(rows: 12);

        (int exit, _, string errors) = RunCli(["train", "--epochs", "1", .. Store]);

        exit.Should().Be(1);
        errors.Should().Contain("no age group has at least 50 samples");
    }

    [Test]
    public void Score_FailOnAnomaly_ExitsThreeOnlyWhenARowIsFlagged()
    {
        string data = Import(rows: 90);
        Run(["train", "--epochs", "3", "--min-samples", "20", .. Store]);
        string odd = Path.Combine(Work, "odd.csv");
        File.WriteAllLines(odd, ["3,50,-50,50,-50", "4,-60,60,-60,60"]);

        (int plainExit, string plain, _) = RunCli(["score", odd, .. Store]);
        (int strictExit, string strict, string errors) = RunCli(["score", odd, "--fail-on-anomaly", .. Store]);

        plainExit.Should().Be(0, "flagging is a result, not a failure, unless asked");
        plain.Should().Contain("2 flagged");
        strictExit.Should().Be(3, errors);
        SampleProgramTests.TableRows(strict).Where(r => r.Length == 8).Should().HaveCount(2).And.OnlyContain(r => r[7] == "anomaly");
        RunCli(["score", data, "--top", "0", "--fail-on-anomaly", .. Store]).ExitCode.Should().BeOneOf([0, 3], "training rows may sit above the 95th percentile");
    }

    [Test]
    public void Report_ForEveryActiveModel_WritesDecodablePngsOfTheRequestedSize()
    {
        string data = Import(rows: 60);
        Run(["train", "--epochs", "3", "--min-samples", "20", .. Store]);
        string reports = Path.Combine(Work, "reports");

        string output = Run(["report", "--out", reports, "--batch", data, "--width", "420", "--height", "300", .. Store]);

        output.Should().Contain("wrote 9 PNG files for 3 models");
        string[] pngs = Directory.GetFiles(reports, "*.png", SearchOption.AllDirectories);
        pngs.Select(Path.GetFileName).Distinct().Should().BeEquivalentTo(["training-curves.png", "calibration-errors.png", "score-distribution.png"]);
        foreach (string png in pngs)
        {
            using SKBitmap? image = SKBitmap.Decode(png);
            image.Should().NotBeNull(png);
            (image!.Width, image.Height).Should().Be((420, 300), png);
        }
    }

    [Test]
    public void Report_OfAnUnknownModel_ExitsOneNamingTheId()
    {
        Import(rows: 30);

        (int exit, _, string errors) = RunCli(["report", "abcdef12", .. Store]);

        exit.Should().Be(1);
        errors.Should().Contain("no model id starts with 'abcdef12'");
    }

    [Test]
    public void Train_WithReport_WritesTheNewModelsPngs()
    {
        Import(rows: 60);
        string reports = Path.Combine(Work, "after-training");

        string output = Run(["train", "--ages", "3-5", "--epochs", "2", "--report", reports, .. Store]);

        output.Should().Contain("trained 1 model;").And.Contain("wrote 2 PNG files for 1 model");
        Directory.GetFiles(reports, "*.png", SearchOption.AllDirectories).Should().HaveCount(2);
    }

    private string Import(int rows)
    {
        string path = Path.Combine(Work, "data.csv");
        TestData.WriteEmbeddingCsv(path, rows, dimension: 4, ageCount: 3, seed: 6);
        Run(["import", path, .. Store]);
        return path;
    }

    private string Run(string[] arguments)
    {
        (int exit, string output, string errors) = RunCli(arguments);
        exit.Should().Be(0, errors);
        return output;
    }
}
