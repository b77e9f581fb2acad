using AgeGroupAnomaly.Management;
using FluentAssertions;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests.Management;

// Every wait here is on an event the test controls, never on time.
public sealed class TrainingQueueTests
{
    [Test]
    public async Task RunAsync_RunsTheJobOnAThreadItOwns_NotOnTheThreadPool()
    {
        using var queue = new TrainingQueue(1);

        (bool pool, string? name) = await queue.RunAsync(_ => (Thread.CurrentThread.IsThreadPoolThread, Thread.CurrentThread.Name), CancellationToken.None);

        pool.Should().BeFalse();
        name.Should().StartWith("ModelManager training");
    }

    [Test]
    public async Task RunAsync_WithOneThread_RunsJobsOneAfterAnother_InOrder()
    {
        using var queue = new TrainingQueue(1);
        using var firstStarted = new ManualResetEventSlim();
        using var releaseFirst = new ManualResetEventSlim();
        bool secondStarted = false;

        Task<int> first = queue.RunAsync(_ => { firstStarted.Set(); releaseFirst.Wait(CancellationToken.None); return 1; }, CancellationToken.None);
        Task<int> second = queue.RunAsync(_ => { secondStarted = true; return 2; }, CancellationToken.None);
        firstStarted.Wait();

        Volatile.Read(ref secondStarted).Should().BeFalse("the only training thread is busy with the first job");
        releaseFirst.Set();
        (await first).Should().Be(1);
        (await second).Should().Be(2);
    }

    [Test]
    public async Task RunAsync_AJobThatThrows_FaultsItsTaskOnly()
    {
        using var queue = new TrainingQueue(1);

        await FluentActions.Awaiting(() => queue.RunAsync<int>(_ => throw new InvalidOperationException("bad"), CancellationToken.None))
            .Should().ThrowAsync<InvalidOperationException>().WithMessage("bad");
        (await queue.RunAsync(_ => 5, CancellationToken.None)).Should().Be(5, "the thread survives");
    }

    [Test]
    public async Task RunAsync_AWaitingJobWhoseTokenIsCancelled_IsCancelledWithoutRunning()
    {
        using var queue = new TrainingQueue(1);
        using var firstStarted = new ManualResetEventSlim();
        using var releaseFirst = new ManualResetEventSlim();
        using var cancel = new CancellationTokenSource();
        bool secondRan = false;
        Task<int> first = queue.RunAsync(_ => { firstStarted.Set(); releaseFirst.Wait(CancellationToken.None); return 1; }, CancellationToken.None);
        Task<int> second = queue.RunAsync(_ => { secondRan = true; return 2; }, cancel.Token);
        firstStarted.Wait();

        await cancel.CancelAsync();
        releaseFirst.Set();

        await first;
        await FluentActions.Awaiting(() => second).Should().ThrowAsync<OperationCanceledException>();
        secondRan.Should().BeFalse();
    }

    [Test]
    public async Task Dispose_CancelsTheRunningAndTheWaitingJobs_AndLaterCallsThrowObjectDisposed()
    {
        var queue = new TrainingQueue(1);
        using var started = new ManualResetEventSlim();
        Task<int> running = queue.RunAsync(token => { started.Set(); token.WaitHandle.WaitOne(); token.ThrowIfCancellationRequested(); return 1; }, CancellationToken.None);
        Task<int> waiting = queue.RunAsync(_ => 2, CancellationToken.None);
        started.Wait();

        queue.Dispose();

        await FluentActions.Awaiting(() => running).Should().ThrowAsync<OperationCanceledException>();
        await FluentActions.Awaiting(() => waiting).Should().ThrowAsync<OperationCanceledException>();
        FluentActions.Invoking(() => { queue.RunAsync(_ => 3, CancellationToken.None); }).Should().Throw<ObjectDisposedException>();
    }

    [Test]
    public async Task CancelAll_CancelsTheJobsOfNow_AndLaterJobsStillRun()
    {
        using var queue = new TrainingQueue(1);
        using var started = new ManualResetEventSlim();
        Task<int> running = queue.RunAsync(token => { started.Set(); token.WaitHandle.WaitOne(); token.ThrowIfCancellationRequested(); return 1; }, CancellationToken.None);
        Task<int> waiting = queue.RunAsync(_ => 2, CancellationToken.None);
        started.Wait();

        queue.CancelAll();

        await FluentActions.Awaiting(() => running).Should().ThrowAsync<OperationCanceledException>();
        await FluentActions.Awaiting(() => waiting).Should().ThrowAsync<OperationCanceledException>();
        (await queue.RunAsync(_ => 3, CancellationToken.None)).Should().Be(3);
    }

    [Test]
    public async Task RunAsync_AWaitingJobWhoseCallerGivesUp_IsCancelledAtOnce_WhileTheRunningJobGoesOn()
    {
        using var queue = new TrainingQueue(1);
        using var started = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        using var giveUp = new CancellationTokenSource();
        Task<int> running = queue.RunAsync(_ => { started.Set(); release.Wait(CancellationToken.None); return 1; }, CancellationToken.None);
        Task<int> waiting = queue.RunAsync(_ => 2, giveUp.Token);
        started.Wait();

        await giveUp.CancelAsync();

        await FluentActions.Awaiting(() => waiting).Should().ThrowAsync<OperationCanceledException>("the caller is answered while the first job still runs");
        running.IsCompleted.Should().BeFalse();
        release.Set();
        (await running).Should().Be(1);
    }

    [Test]
    public async Task Dispose_FromAJobOnItsOwnThread_DoesNotDeadlock()
    {
        var queue = new TrainingQueue(1);

        int result = await queue.RunAsync(_ => { queue.Dispose(); return 7; }, CancellationToken.None);

        result.Should().Be(7);
    }
}
