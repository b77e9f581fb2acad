using AgeGroupAnomaly.Storage;
using FluentAssertions;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests.Storage;

/// <summary>
/// The <see cref="IModelStore"/> contract; one subclass per implementation (the in-memory and SQLite
/// ones in ModelStoreContractFixtures.cs, the PostgreSQL one in its own test project, which links this file).
/// </summary>
public abstract class ModelStoreContractTests
{
    protected IModelStore Store { get; private set; } = null!;

    protected abstract IModelStore CreateStore();

    [SetUp]
    public void CreateTheStore() => Store = CreateStore();

    [TearDown]
    public void DisposeTheStore() => (Store as IDisposable)?.Dispose();

    internal static ModelRecord Model(double min, double max, bool active = true, DateTime? created = null, int dimension = 4) => new()
    {
        Id = Guid.NewGuid(),
        AgeMin = min,
        AgeMax = max,
        EmbeddingDimension = dimension,
        ParametersJson = """{"k":1}""",
        SampleCount = 10,
        Threshold = 0.5,
        CreatedUtc = created ?? DateTime.UtcNow,
        IsActive = active,
        CheckpointPath = Guid.NewGuid().ToString("N") + ".safetensors",
        CheckpointSha256 = new string('a', 64),
    };

    private static NewSample Sample(double age, float value = 1f, string? subject = null, string? label = null) =>
        new(age, [value, value + 1, value + 2, value + 3], subject, label);

    [Test]
    public async Task AddSamples_OfAnotherDimensionThanTheStored_AreRejectedNamingRowAndDimensions_AndNothingIsAdded()
    {
        await Store.AddSamplesAsync([Sample(4), Sample(5)]);

        InvalidEmbeddingException thrown = (await FluentActions.Awaiting(() => Store.AddSamplesAsync([Sample(4), new NewSample(4, new float[100])]))
            .Should().ThrowAsync<InvalidEmbeddingException>()).Which;
        await FluentActions.Awaiting(() => Store.AddSampleAsync(new NewSample(4, new float[3]))).Should().ThrowAsync<InvalidEmbeddingException>();

        thrown.RowIndex.Should().Be(1);
        thrown.Message.Should().Contain("Sample 1 has 100 values").And.Contain("embeddings of 4");
        (await Store.CountSamplesAsync(0, 150)).Should().Be(2, "neither batch added anything");
    }

    [Test]
    public async Task AddSamples_WithMixedDimensionsIntoAnEmptyStore_AreRejected()
    {
        await FluentActions.Awaiting(() => Store.AddSamplesAsync([Sample(4), new NewSample(4, new float[2])]))
            .Should().ThrowAsync<InvalidEmbeddingException>().WithMessage("Sample 1 has 2 values but sample 0 has 4*");

        (await Store.CountSamplesAsync(0, 150)).Should().Be(0);
    }

    [Test]
    public async Task DeleteSample_ById_AndDeleteSamples_ByAgeRange_RemoveExactlyThose()
    {
        IReadOnlyList<long> ids = await Store.AddSamplesAsync([Sample(3), Sample(4), Sample(5), Sample(6)]);

        (await Store.DeleteSampleAsync(ids[0])).Should().BeTrue();
        (await Store.DeleteSampleAsync(ids[0])).Should().BeFalse("it is gone");
        (await Store.DeleteSamplesAsync(4, 5)).Should().Be(2);

        (await Store.GetSamplesAsync(0, 150)).Select(s => s.Id).Should().Equal(ids[3]);
        await FluentActions.Awaiting(() => Store.DeleteSamplesAsync(5, 4)).Should().ThrowAsync<ArgumentException>();
    }

    [Test]
    public async Task AfterDeletingEverySample_AnotherDimensionIsAccepted()
    {
        await Store.AddSamplesAsync([Sample(4)]);
        await Store.DeleteSamplesAsync(0, 150);

        await Store.AddSampleAsync(new NewSample(4, new float[] { 1, 2 }));

        (await Store.GetSamplesAsync(0, 150)).Should().ContainSingle().Which.Embedding.Should().HaveCount(2);
    }

    [Test]
    public async Task AddSample_ThenGetById_ReturnsTheSameData()
    {
        long id = await Store.AddSampleAsync(new NewSample(7.5, [0.25f, -1f, float.Epsilon, 3e8f], "house", "free text"));

        SampleRecord? sample = await Store.GetSampleAsync(id);

        sample.Should().NotBeNull();
        sample!.AgeYears.Should().Be(7.5);
        sample.Embedding.Should().Equal(0.25f, -1f, float.Epsilon, 3e8f);
        sample.Subject.Should().Be("house");
        sample.Label.Should().Be("free text");
        sample.CreatedUtc.Kind.Should().Be(DateTimeKind.Utc);
        (await Store.GetSampleAsync(id + 1000)).Should().BeNull();
    }

    [Test]
    public async Task AddSamples_ReturnsIdsInOrder_AndRangeQueriesAreInclusive()
    {
        IReadOnlyList<long> ids = await Store.AddSamplesAsync([Sample(3), Sample(4), Sample(5), Sample(6), Sample(6.5)]);

        ids.Should().HaveCount(5).And.BeInAscendingOrder().And.OnlyHaveUniqueItems();
        (await Store.CountSamplesAsync(4, 6)).Should().Be(3);
        (await Store.GetSamplesAsync(4, 6)).Select(s => s.AgeYears).Should().Equal(4, 5, 6);
        (await Store.CountSamplesAsync(7, 9)).Should().Be(0);
        (await Store.GetSampleAgesAsync()).Should().Equal(3, 4, 5, 6, 6.5);
    }

    [Test]
    public async Task AddSamples_WithOneBadSample_AddsNone()
    {
        NewSample[] batch = [Sample(3), new NewSample(4, [1f, float.NaN, 1f, 1f]), Sample(5)];

        Func<Task> act = () => Store.AddSamplesAsync(batch);

        await act.Should().ThrowAsync<InvalidEmbeddingException>().WithMessage("Sample 1: *NaN*");
        (await Store.CountSamplesAsync(0, 100)).Should().Be(0);
    }

    [TestCase(double.NaN)]
    [TestCase(-1.0)]
    [TestCase(double.PositiveInfinity)]
    [TestCase(150.0000001)]
    [TestCase(1e300)]
    [TestCase(double.MaxValue)]
    public async Task AddSample_WithBadAge_ThrowsNamingTheAge(double age)
    {
        Func<Task> act = () => Store.AddSampleAsync(Sample(age));

        await act.Should().ThrowAsync<ArgumentOutOfRangeException>().WithMessage("*AgeYears*");
    }

    [TestCase(151.0)]
    [TestCase(1e300)]
    public async Task AgeAboveTheAcceptedRange_IsRefusedByEveryCallThatTakesAnAge(double age)
    {
        await FluentActions.Awaiting(() => Store.CountSamplesAsync(0, age)).Should().ThrowAsync<ArgumentOutOfRangeException>().WithMessage("*at most 150*");
        await FluentActions.Awaiting(() => Store.GetSamplesAsync(0, age)).Should().ThrowAsync<ArgumentOutOfRangeException>().WithMessage("*at most 150*");
        await FluentActions.Awaiting(() => Store.FindActiveModelsAsync(age)).Should().ThrowAsync<ArgumentOutOfRangeException>().WithMessage("*at most 150*");
        await FluentActions.Awaiting(() => Store.AddModelAsync(Model(3, age))).Should().ThrowAsync<ArgumentOutOfRangeException>().WithMessage("*at most 150*");
        (await Store.AddSampleAsync(Sample(NewSample.MaxAgeYears))).Should().BePositive("150 itself is accepted");
    }

    [Test]
    public async Task AddSample_WithEmptyOrInfiniteEmbedding_ThrowsInvalidEmbedding()
    {
        await FluentActions.Awaiting(() => Store.AddSampleAsync(new NewSample(5, []))).Should().ThrowAsync<InvalidEmbeddingException>();
        await FluentActions.Awaiting(() => Store.AddSampleAsync(new NewSample(5, [1f, float.NegativeInfinity]))).Should().ThrowAsync<InvalidEmbeddingException>();
    }

    [Test]
    public async Task RangeQueries_WithMinAboveMax_Throw()
    {
        await FluentActions.Awaiting(() => Store.CountSamplesAsync(6, 5)).Should().ThrowAsync<ArgumentException>().WithMessage("*greater than*");
    }

    [Test]
    public async Task AddModel_ThenGet_ReturnsEqualRecord()
    {
        ModelRecord model = Model(3, 5) with { CreatedUtc = new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc) };

        await Store.AddModelAsync(model);

        (await Store.GetModelAsync(model.Id)).Should().Be(model);
        (await Store.GetModelAsync(Guid.NewGuid())).Should().BeNull();
    }

    [Test]
    public async Task AddActiveModel_ForTheSameRange_DeactivatesThePreviousOneOnly()
    {
        ModelRecord old = Model(3, 5);
        ModelRecord otherRange = Model(6, 8);
        await Store.AddModelAsync(old);
        await Store.AddModelAsync(otherRange);

        ModelRecord next = Model(3, 5);
        await Store.AddModelAsync(next);

        (await Store.GetModelAsync(old.Id))!.IsActive.Should().BeFalse();
        (await Store.GetModelAsync(next.Id))!.IsActive.Should().BeTrue();
        (await Store.GetModelAsync(otherRange.Id))!.IsActive.Should().BeTrue();
    }

    [Test]
    public async Task ListModels_IsOrderedByAgeMinThenCreation()
    {
        DateTime t = DateTime.UtcNow;
        ModelRecord b = Model(6, 8, created: t);
        ModelRecord a2 = Model(3, 5, active: false, created: t.AddSeconds(2));
        ModelRecord a1 = Model(3, 5, active: false, created: t.AddSeconds(1));
        foreach (ModelRecord m in new[] { b, a2, a1 })
        {
            await Store.AddModelAsync(m);
        }

        (await Store.ListModelsAsync()).Select(m => m.Id).Should().Equal(a1.Id, a2.Id, b.Id);
    }

    [Test]
    public async Task FindActiveModels_ReturnsActiveModelsWhoseInclusiveRangeContainsTheAge()
    {
        ModelRecord young = Model(3, 5);
        ModelRecord older = Model(5, 8);
        ModelRecord inactive = Model(4, 6, active: false);
        foreach (ModelRecord m in new[] { young, older, inactive })
        {
            await Store.AddModelAsync(m);
        }

        (await Store.FindActiveModelsAsync(5)).Select(m => m.Id).Should().Equal(young.Id, older.Id);
        (await Store.FindActiveModelsAsync(3)).Select(m => m.Id).Should().Equal(young.Id);
        (await Store.FindActiveModelsAsync(8)).Select(m => m.Id).Should().Equal(older.Id);
        (await Store.FindActiveModelsAsync(9)).Should().BeEmpty();
    }

    [Test]
    public async Task Activate_AnOlderVersion_DeactivatesTheCurrentOneOfThatRange()
    {
        ModelRecord v1 = Model(3, 5);
        ModelRecord v2 = Model(3, 5);
        await Store.AddModelAsync(v1);
        await Store.AddModelAsync(v2);

        (await Store.ActivateModelAsync(v1.Id)).Should().BeTrue();

        (await Store.FindActiveModelsAsync(4)).Select(m => m.Id).Should().Equal(v1.Id);
        (await Store.ActivateModelAsync(Guid.NewGuid())).Should().BeFalse();
    }

    [Test]
    public async Task Deactivate_And_Delete_ReportWhetherTheModelExisted()
    {
        ModelRecord m = Model(3, 5);
        await Store.AddModelAsync(m);

        (await Store.DeactivateModelAsync(m.Id)).Should().BeTrue();
        (await Store.FindActiveModelsAsync(4)).Should().BeEmpty();
        (await Store.DeleteModelAsync(m.Id)).Should().BeTrue();
        (await Store.GetModelAsync(m.Id)).Should().BeNull();
        (await Store.DeleteModelAsync(m.Id)).Should().BeFalse();
        (await Store.DeactivateModelAsync(m.Id)).Should().BeFalse();
    }

    [Test]
    public async Task AddModel_WithInvalidRecord_Throws()
    {
        await FluentActions.Awaiting(() => Store.AddModelAsync(Model(5, 3))).Should().ThrowAsync<ArgumentException>();
        await FluentActions.Awaiting(() => Store.AddModelAsync(Model(3, 5) with { Threshold = double.NaN })).Should().ThrowAsync<ArgumentException>();
        (await Store.ListModelsAsync()).Should().BeEmpty();
    }

    [Test]
    public async Task Operations_WithACancelledToken_ThrowOperationCanceled()
    {
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        await FluentActions.Awaiting(() => Store.ListModelsAsync(cts.Token)).Should().ThrowAsync<OperationCanceledException>();
        await FluentActions.Awaiting(() => Store.AddSampleAsync(Sample(3), cts.Token)).Should().ThrowAsync<OperationCanceledException>();
    }

    [Test]
    public async Task ReturnedEmbeddings_AreCopies()
    {
        float[] embedding = [1f, 2f, 3f, 4f];
        long id = await Store.AddSampleAsync(new NewSample(5, embedding));
        embedding[0] = 99f;

        SampleRecord first = (await Store.GetSampleAsync(id))!;
        first.Embedding[1] = 99f;

        (await Store.GetSampleAsync(id))!.Embedding.Should().Equal(1f, 2f, 3f, 4f);
    }
}
