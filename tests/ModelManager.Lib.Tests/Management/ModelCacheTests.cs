using AgeGroupAnomaly.Management;
using AgeGroupAnomaly.Scoring;
using AgeGroupAnomaly.Storage;
using AgeGroupAnomaly.Tests.Checkpoints;
using FluentAssertions;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests.Management;

[TestFixture]
public sealed class ModelCacheTests
{
    private static LoadedModel Loaded(Guid id)
    {
        var record = new ModelRecord
        {
            Id = id, AgeMin = 1, AgeMax = 2, EmbeddingDimension = 6, ParametersJson = "{}", SampleCount = 1, Threshold = 1,
            CreatedUtc = DateTime.UtcNow, IsActive = true, CheckpointPath = "x", CheckpointSha256 = "y",
        };
        return new LoadedModel(record, AgeGroupAnomaly.Training.LossStatistics.FromLosses([1.0]), CheckpointTestData.Weights());
    }

    [Test]
    public async Task GetOrLoad_ConcurrentFirstUse_LoadsOnce()
    {
        var cache = new ModelCache(4);
        var id = Guid.NewGuid();
        var gate = new TaskCompletionSource();
        int calls = 0;
        async Task<LoadedModel> Load(Guid g)
        {
            Interlocked.Increment(ref calls);
            await gate.Task;
            return Loaded(g);
        }

        Task<LoadedModel>[] waiting = [.. Enumerable.Range(0, 16).Select(_ => Task.Run(() => cache.GetOrLoadAsync(id, Load, CancellationToken.None).AsTask()))];
        await Task.Delay(50);
        gate.SetResult();
        LoadedModel[] models = await Task.WhenAll(waiting);

        calls.Should().Be(1);
        models.Should().OnlyContain(m => ReferenceEquals(m, models[0]));
    }

    [Test]
    public async Task GetOrLoad_BeyondCapacity_EvictsTheLeastRecentlyUsed()
    {
        var cache = new ModelCache(2);
        Guid a = Guid.NewGuid(), b = Guid.NewGuid(), c = Guid.NewGuid();
        var loads = new List<Guid>();
        Task<LoadedModel> Load(Guid g)
        {
            loads.Add(g);
            return Task.FromResult(Loaded(g));
        }

        await cache.GetOrLoadAsync(a, Load, default);
        await cache.GetOrLoadAsync(b, Load, default);
        await cache.GetOrLoadAsync(a, Load, default); // a is now the most recent
        await cache.GetOrLoadAsync(c, Load, default); // evicts b
        await cache.GetOrLoadAsync(a, Load, default);
        await cache.GetOrLoadAsync(b, Load, default);

        loads.Should().Equal(a, b, c, b);
        cache.Count.Should().Be(2);
    }

    [Test]
    public async Task GetOrLoad_AfterAFailedLoad_TriesAgain()
    {
        var cache = new ModelCache(2);
        var id = Guid.NewGuid();
        int calls = 0;
        Task<LoadedModel> Load(Guid g) => ++calls == 1 ? Task.FromException<LoadedModel>(new ModelLoadingException("boom")) : Task.FromResult(Loaded(g));

        await FluentActions.Awaiting(() => cache.GetOrLoadAsync(id, Load, default).AsTask()).Should().ThrowAsync<ModelLoadingException>();
        (await cache.GetOrLoadAsync(id, Load, default)).Record.Id.Should().Be(id);
        calls.Should().Be(2);
    }
}
