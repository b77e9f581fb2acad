using System.Text.RegularExpressions;
using AgeGroupAnomaly.Storage;
using AgeGroupAnomaly.Tests.Training;
using FluentAssertions;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests.Reliability;

/// <summary>
/// Every bad input gets a typed exception whose message names the problem, and leaves the store
/// and the checkpoint files exactly as they were. The README's table lists these cases.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class BadInputTests
{
    private const int D = ReliabilityFixture.Dimension;
    private static ReliabilityFixture s_fixture = null!;

    [OneTimeSetUp]
    public async Task CreateFixture() => s_fixture = await ReliabilityFixture.CreateAsync();

    [OneTimeTearDown]
    public void DisposeFixture() => s_fixture.Dispose();

    public sealed record BadInput(string Input, Func<ReliabilityFixture, Task> Act, Type Exception, string MessagePattern)
    {
        public override string ToString() => Input;
    }

    /// <summary>Each non-finite value, the README's name for it and the name the message must give.</summary>
    private static readonly (string Name, float Value, string InMessage)[] NonFinite =
    [
        ("NaN", float.NaN, "NaN"),
        ("+∞", float.PositiveInfinity, "Infinity"),
        ("−∞", float.NegativeInfinity, "-Infinity"),
    ];

    private static readonly (string Where, int Position)[] Positions = [("first", 0), ("middle", D / 2), ("last", D - 1)];

    private static float[] Valid() => TestData.Embeddings(1, D, seed: 9)[0];

    private static float[] With(int position, float value)
    {
        float[] e = Valid();
        e[position] = value;
        return e;
    }

    public static IEnumerable<BadInput> Cases()
    {
        yield return new BadInput("null embedding", f => f.Manager.ScoreAsync(null!, 4).AsTask(), typeof(InvalidEmbeddingException), "*empty*");
        yield return new BadInput("empty embedding", f => f.Manager.ScoreAsync(Array.Empty<float>(), 4).AsTask(), typeof(InvalidEmbeddingException), "*empty*");
        yield return new BadInput("wrong dimension for the model", f => f.Manager.ScoreAsync(new float[D - 1], 4).AsTask(), typeof(InvalidEmbeddingException), "*15 values*takes 16*");
        foreach ((string name, float value, string inMessage) in NonFinite)
        {
            foreach ((string where, int position) in Positions)
            {
                yield return new BadInput($"{name} at the {where} position", f => f.Manager.ScoreAsync(With(position, value), 4).AsTask(), typeof(InvalidEmbeddingException), $"Embedding 0 holds {inMessage} at position {position};*");
            }
        }

        yield return new BadInput("ragged batch", f => f.Manager.ScoreBatchAsync([Valid(), new float[D + 2]], 4), typeof(InvalidEmbeddingException), "Row 1:*18 values*");
        yield return new BadInput("batch with fewer ages than embeddings", f => f.Manager.ScoreBatchAsync([Valid(), Valid()], [4.0]), typeof(ArgumentException), "*2 embeddings but 1 ages*");
        yield return new BadInput("age NaN", f => f.Manager.ScoreAsync(Valid(), double.NaN).AsTask(), typeof(ArgumentOutOfRangeException), "*age is NaN*");
        yield return new BadInput("age negative", f => f.Manager.ScoreAsync(Valid(), -1).AsTask(), typeof(ArgumentOutOfRangeException), "*age is -1*");
        yield return new BadInput("age +∞", f => f.Manager.ScoreAsync(Valid(), double.PositiveInfinity).AsTask(), typeof(ArgumentOutOfRangeException), "*age is Infinity*");
        yield return new BadInput("age 1e300", f => f.Manager.ScoreAsync(Valid(), 1e300).AsTask(), typeof(ArgumentOutOfRangeException), "*age is 1E+300*at most 150*");
        yield return new BadInput("age 151", f => f.Manager.ScoreAsync(Valid(), 151).AsTask(), typeof(ArgumentOutOfRangeException), "*age is 151*at most 150*");
        yield return new BadInput("batch with an age of 1e300", f => f.Manager.ScoreBatchAsync([Valid(), Valid()], [4.0, 1e300]), typeof(ArgumentOutOfRangeException), "*Row 1: ages is 1E+300*");
        yield return new BadInput("ageMax 1e300", f => f.Manager.TrainAgeGroupModelAsync(3, 1e300), typeof(ArgumentOutOfRangeException), "*ageMax is 1E+300*");
        yield return new BadInput("ageMin > ageMax", f => f.Manager.TrainAgeGroupModelAsync(5, 3), typeof(ArgumentException), "*ageMin 5 is greater than ageMax 3*");
        yield return new BadInput("range with no samples", f => f.Manager.TrainAgeGroupModelAsync(30, 40), typeof(InsufficientSamplesException), "No samples have an age in [30, 40]*");
        yield return new BadInput("range with one sample", f => f.Manager.TrainAgeGroupModelAsync(20, 20), typeof(InsufficientSamplesException), "Only 1 samples*at least 5*");
        yield return new BadInput("unknown model id", f => f.Manager.ComputeReconstructionLossAsync(Valid(), Guid.Empty), typeof(ModelNotFoundException), "No model has id*");
        yield return new BadInput("deleted model", f => f.Manager.ComputeReconstructionLossAsync(Valid(), f.DeletedId), typeof(ModelNotFoundException), "No model has id*");
        yield return new BadInput("deleted model's info", f => f.Manager.GetModelInfoAsync(f.DeletedId), typeof(ModelNotFoundException), "No model has id*");
        yield return new BadInput("activating a deleted model", f => f.Manager.ActivateAsync(f.DeletedId), typeof(ModelNotFoundException), "No model has id*");
        yield return new BadInput("inactive model requested by age", f => f.Manager.ScoreAsync(Valid(), 8).AsTask(), typeof(NoModelForAgeException), "No active model covers age 8*");
        foreach ((var config, string field, string fragment) in InvalidTrainingConfigs.All)
        {
            Type expected = field == "Device" || fragment == "empty" ? typeof(ArgumentException) : typeof(ArgumentOutOfRangeException);
            yield return new BadInput($"invalid TrainingConfig.{field} ({fragment})", f => f.Manager.TrainAgeGroupModelAsync(3, 5, config), expected, $"*{field}*");
        }

        yield return new BadInput("values so large that training on raw inputs overflows (1e30)", f => f.Manager.TrainAgeGroupModelAsync(50, 50, AgeGroupAnomaly.Training.TrainingConfig.Original with { HiddenSizes = [8, 4] }), typeof(AutoencoderTrainingException), "*epoch 1*");
        yield return new BadInput("sample with NaN age", f => f.Store.AddSampleAsync(new NewSample(double.NaN, Valid())), typeof(ArgumentOutOfRangeException), "*AgeYears is NaN*");
        yield return new BadInput("sample with age 1e300", f => f.Store.AddSampleAsync(new NewSample(1e300, Valid())), typeof(ArgumentOutOfRangeException), "*AgeYears is 1E+300*at most 150*");
        yield return new BadInput("sample with an infinite value", f => f.Store.AddSampleAsync(new NewSample(4, With(3, float.PositiveInfinity))), typeof(InvalidEmbeddingException), "Embedding 0 holds Infinity at position 3;*");
    }

    [TestCaseSource(nameof(Cases))]
    public async Task BadInput_ThrowsItsTypedException_AndChangesNothing(BadInput c)
    {
        string before = await s_fixture.SnapshotAsync();

        Exception? thrown = null;
        try
        {
            await c.Act(s_fixture);
        }
        catch (Exception ex)
        {
            thrown = ex;
        }

        thrown.Should().NotBeNull($"'{c.Input}' must be rejected");
        thrown!.GetType().Should().Be(c.Exception, thrown.ToString());
        thrown.Message.Should().Match(c.MessagePattern);
        (await s_fixture.SnapshotAsync()).Should().Be(before);
    }

    [Test]
    public async Task ABatchOverSeveralChunks_WithOneRowWhoseLossOverflows_ThrowsNonFiniteScore()
    {
        // 300 rows are three chunks of the kernel, each turned into results on the core that ran
        // it; row 250's values are finite but so large that its reconstruction overflows.
        float[][] batch = TestData.Embeddings(300, D, seed: 5);
        IReadOnlyList<AgeGroupAnomaly.Scoring.ScoreResult> fine = await s_fixture.Manager.ScoreBatchAsync(batch, 4);
        batch[250] = [.. Enumerable.Repeat(3e38f, D)];

        fine.Should().HaveCount(300).And.OnlyContain(r => r != null && double.IsFinite(r.ReconstructionLoss));
        await FluentActions.Awaiting(() => s_fixture.Manager.ScoreBatchAsync(batch, 4)).Should().ThrowAsync<NonFiniteScoreException>();
    }

    [Test]
    public async Task AllIdenticalTrainingSet_TrainsWithAFiniteThreshold()
    {
        AgeGroupTrainingResult result = await s_fixture.Manager.TrainAgeGroupModelAsync(60, 60);
        try
        {
            double.IsFinite(result.Threshold).Should().BeTrue();
            (await s_fixture.Manager.ScoreAsync(Enumerable.Repeat(0.25f, D).ToArray(), 60)).ReconstructionLoss.Should().BeLessThanOrEqualTo(result.Threshold);
        }
        finally
        {
            await s_fixture.Manager.DeleteAsync(result.ModelId);
        }
    }

    [Test]
    public void Readme_ListsEveryBadInputCaseWithItsExceptionType()
    {
        string readme = File.ReadAllText(Path.Combine(TestEnvironment.RepositoryRoot, "README.md"));
        string[] rows = [.. readme.Split('\n').Where(l => l.StartsWith("| ", StringComparison.Ordinal))];

        foreach (BadInput c in Cases().Where(c => !c.Input.StartsWith("invalid TrainingConfig.", StringComparison.Ordinal)))
        {
            rows.Should().Contain(r => r.Contains($"| {c.Input} |", StringComparison.Ordinal) && r.Contains($"`{c.Exception.Name}`", StringComparison.Ordinal), $"README should list '{c.Input}' with {c.Exception.Name}");
        }

        rows.Should().Contain(r => r.Contains("| every invalid `TrainingConfig` field |", StringComparison.Ordinal));
        Regex.Matches(readme, "too few or non-numeric").Should().NotBeEmpty();
    }

    [Test]
    public void Readme_NamesTheValueEachNonFiniteEmbeddingHolds()
    {
        string readme = File.ReadAllText(Path.Combine(TestEnvironment.RepositoryRoot, "README.md"));
        string[] rows = [.. readme.Split('\n').Where(l => l.StartsWith("| ", StringComparison.Ordinal))];

        foreach ((string name, _, string inMessage) in NonFinite)
        {
            foreach ((string where, _) in Positions)
            {
                string input = $"| {name} at the {where} position |";
                rows.Should().ContainSingle(r => r.StartsWith(input, StringComparison.Ordinal))
                    .Which.Should().EndWith($"| Embedding 0 holds {inMessage} at position P |", $"the message for {name} names the value it holds");
            }
        }

        rows.Should().ContainSingle(r => r.StartsWith("| sample with an infinite value |", StringComparison.Ordinal))
            .Which.Should().EndWith("| Embedding 0 holds Infinity at position 3 |");
    }
}
