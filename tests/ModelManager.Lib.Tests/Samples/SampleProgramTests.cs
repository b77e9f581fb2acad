using System.Globalization;
using System.Text.Json;
using FluentAssertions;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests.Samples;

/// <summary>Runs the sample programs and the benchmark's quick mode as a user would.</summary>
[TestFixture]
[NonParallelizable]
public sealed class SampleProgramTests : ProgramTestBase
{

    [Test]
    public void QuickStart_RunsEndToEnd_AndReportsDetectionAndFalseAlarmRates()
    {
        (int exit, string output, string errors) = TestEnvironment.RunProgram(TestEnvironment.ProgramPath("samples/QuickStart", "QuickStart"), Work, "--work", Path.Combine(Work, "qs"));

        exit.Should().Be(0, errors);
        output.Should().Contain("Stored 3000 synthetic 832-value embeddings").And.Contain("Active models").And.Contain("false alarms");
        string summary = output.Split('\n').Single(l => l.StartsWith("Trained 5 models", StringComparison.Ordinal));
        double detection = double.Parse(summary.Split("detection rate ")[1].Split('%')[0], CultureInfo.InvariantCulture);
        double falseAlarms = double.Parse(summary.Split("false-alarm rate ")[1].Split('%')[0], CultureInfo.InvariantCulture);
        detection.Should().Be(100, "every planted anomaly is found with the default configuration");
        falseAlarms.Should().BeLessThanOrEqualTo(10, "held-out normal drawings are rarely flagged (seeded data and training: the same figure every run)");
    }

    [Test]
    public void EmbeddingsCli_ImportTrainListScore_WorksOnAGoodFile()
    {
        string csv = WriteCsv("good.csv", rows: 60, dimension: 8);
        string[] store = ["--db", Path.Combine(Work, "e.db"), "--checkpoints", Path.Combine(Work, "ck")];

        Run(["import", csv, .. store]).Should().Contain("imported 60 embeddings of 8 values");
        string trained = Run(["train", "--epochs", "2", "--min-samples", "20", .. store]);
        trained.Should().Contain("trained 3 models");
        TableRows(trained).Select(r => r[0]).Should().Equal("3-3", "4-4", "5-5");

        using JsonDocument models = JsonDocument.Parse(Run(["list", "--json", .. store]));
        models.RootElement.EnumerateArray().Should().HaveCount(3).And.OnlyContain(m => m.GetProperty("active").GetBoolean() && m.GetProperty("dimension").GetInt32() == 8);
        string[] ids = [.. models.RootElement.EnumerateArray().Select(m => m.GetProperty("id").GetString()!)];
        TableRows(Run(["list", .. store])).Select(r => r[0]).Should().BeEquivalentTo(ids, "the table lists the same models");

        string scored = Run(["score", csv, Path.Combine(Work, "out.csv"), .. store]);
        scored.Should().Contain("scored 60 embeddings");
        TableRows(scored).Where(r => r.Length == 5).Sum(r => int.Parse(r[2], CultureInfo.InvariantCulture)).Should().Be(60, "the per-group table counts every row");
        File.ReadAllLines(Path.Combine(Work, "out.csv")).Should().HaveCount(61).And.Subject.First().Should().StartWith("line,age,model_id");
        Directory.GetFiles(Work, "*.tmp").Should().BeEmpty();
    }

    [TestCase("4,0.1,0.2\n5,0.1,x\n", "line 2", "value 2")]
    [TestCase("4,0.1,0.2\n5,0.1\n", "line 2", "1 embedding values, but earlier lines have 2")]
    [TestCase("4,0.1,0.2\n5\n", "line 2", "too few fields")]
    [TestCase("age,v1\nold,0.1\n", "line 2", "age 'old'")]
    [TestCase("4,0.1,0.2\n-3,0.1,0.2\n", "line 2", "age '-3'")]
    public void EmbeddingsCli_ImportOfABadFile_NamesTheLineAndImportsNothing(string content, string line, string problem)
    {
        string good = WriteCsv("good.csv", rows: 3, dimension: 2);
        string bad = Path.Combine(Work, "bad.csv");
        File.WriteAllText(bad, content);
        string[] common = ["--db", Path.Combine(Work, "e.db"), "--checkpoints", Path.Combine(Work, "ck")];
        Run(["import", good, .. common]);

        (int exit, _, string errors) = RunCli(["import", bad, .. common]);

        exit.Should().Be(1);
        errors.Should().Contain(line).And.Contain(problem);
        Run(["plan", .. common]).Should().Contain("3 samples", "the bad file added nothing");
    }

    [Test]
    public void BenchmarkQuickMode_Smoke_PrintsOneLineOfValidJsonWithTheHeadlineFigures()
    {
        (int exit, string output, string errors) = TestEnvironment.RunProgram(
            TestEnvironment.ProgramPath("tests/ModelManager.Lib.Benchmarks", "ModelManager.Lib.Benchmarks"), Work, "--quick", "--smoke");

        exit.Should().Be(0, errors);
        using JsonDocument json = JsonDocument.Parse(output.Trim().Split('\n')[^1]);
        string[] keys = [.. json.RootElement.EnumerateObject().Select(p => p.Name)];
        keys.Should().Contain([
            "matmul_gflops", "train_samples_per_s", "torchsharp_forward_us", "score_p50_us", "score_p99_us",
            "score_alloc_bytes", "batch_score_per_s", "load_ms", "scoring_process_rss_mb"]);
        json.RootElement.EnumerateObject().Should().OnlyContain(p => p.Value.ValueKind == JsonValueKind.Number);
        json.RootElement.GetProperty("scoring_process_rss_mb").GetDouble().Should().BeGreaterThan(0);
    }

    [Test]
    public void BenchmarkQualityMode_Smoke_PrintsATableRowWithAnAucAndWritesTheJson()
    {
        string json = Path.Combine(Work, "quality.json");
        (int exit, string output, string errors) = TestEnvironment.RunProgram(
            TestEnvironment.ProgramPath("tests/ModelManager.Lib.Benchmarks", "ModelManager.Lib.Benchmarks"), Work, "--quality", "--smoke", "--out", json);

        exit.Should().Be(0, errors);
        string row = output.Split('\n').Single(l => l.StartsWith("| library default | wine |", StringComparison.Ordinal));
        double meanAuc = double.Parse(row.Split('|')[3].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        meanAuc.Should().BeInRange(0, 1);
        output.Should().Contain("| distance to group mean | wine |");
        output.Should().Contain("library default / wine: mean ", "the same models scored with bfloat16 weights are reported beside the table");
        using JsonDocument document = JsonDocument.Parse(File.ReadAllText(json));
        JsonElement library = document.RootElement.GetProperty("methods").EnumerateArray().Single(m => m.GetProperty("name").GetString() == "library default");
        library.GetProperty("dataSets")[0].GetProperty("groups").GetArrayLength().Should().Be(2, "the smoke trains two groups of one seed");
    }

    [Test]
    [Platform("Linux")]
    public void CpuTrainingAndScoring_InAFreshProcess_NeverMapLibtorch()
    {
        (int exit, string output, string errors) = TestEnvironment.RunProgram(
            TestEnvironment.ProgramPath("tests/ModelManager.Lib.Benchmarks", "ModelManager.Lib.Benchmarks"), Work, "--native-load-check", Path.Combine(Work, "ck"));

        exit.Should().Be(0, errors);
        output.Should().Contain("scored True").And.Contain("libtorch mapped False");
    }

    private string WriteCsv(string name, int rows, int dimension)
    {
        string path = Path.Combine(Work, name);
        TestData.WriteEmbeddingCsv(path, rows, dimension, ageCount: 3, seed: 4, subject: "tree", ageShift: 1);
        return path;
    }

    /// <summary>The cells of every body row of the tables in an output (rows start with '│').</summary>
    internal static string[][] TableRows(string output) =>
        [.. output.Split('\n')
            .Where(l => l.StartsWith('│'))
            .Select(l => l.Trim().Trim('│').Split('│').Select(c => c.Trim()).ToArray())
            .Where(cells => !cells.Any(c => c is "Ages" or "Model" or "Line"))];

    private string Run(string[] arguments)
    {
        (int exit, string output, string errors) = RunCli(arguments);
        exit.Should().Be(0, errors);
        return output;
    }
}
