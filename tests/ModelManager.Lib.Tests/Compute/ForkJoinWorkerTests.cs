using AgeGroupAnomaly.Compute;
using FluentAssertions;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests.Compute;

[TestFixture]
public sealed class ForkJoinWorkerTests
{
    [Test]
    public void Invoke_RunsBothHalvesOnTwoThreads_ManyTimesInARow()
    {
        using var worker = new ForkJoinWorker();
        int caller = Environment.CurrentManagedThreadId;
        long sum = 0;
        var otherThreads = new HashSet<int>();

        for (int i = 0; i < 1000; i++)
        {
            int value = i;
            worker.Invoke(() => Interlocked.Add(ref sum, value), () =>
            {
                Interlocked.Add(ref sum, value);
                lock (otherThreads)
                {
                    otherThreads.Add(Environment.CurrentManagedThreadId);
                }
            });
        }

        sum.Should().Be(2 * 999 * 1000 / 2);
        otherThreads.Should().ContainSingle().Which.Should().NotBe(caller);
    }

    [Test]
    public void Invoke_AfterTheWorkerFellAsleep_StillRunsTheOtherHalf()
    {
        using var worker = new ForkJoinWorker();
        worker.Invoke(() => { }, () => { });
        Thread.Sleep(ForkJoinWorker.TrainingSpinTime * 10); // asleep or not, the job must run
        bool ran = false;

        worker.Invoke(() => { }, () => ran = true);

        ran.Should().BeTrue();
    }

    [Test]
    public void Invoke_WhenTheWorkersHalfThrows_RethrowsOnTheCallerAfterBothHalves()
    {
        using var worker = new ForkJoinWorker();
        bool mineRan = false;

        FluentActions.Invoking(() => worker.Invoke(() => mineRan = true, () => throw new InvalidOperationException("worker half failed")))
            .Should().Throw<InvalidOperationException>().WithMessage("worker half failed");
        mineRan.Should().BeTrue();
        bool ran = false;
        worker.Invoke(() => { }, () => ran = true);
        ran.Should().BeTrue("the worker survives a failed job");
    }

    [Test]
    public void Dispose_EndsTheThread()
    {
        var worker = new ForkJoinWorker();
        worker.Invoke(() => { }, () => { });

        worker.Dispose();

        worker.HasEnded.Should().BeTrue();
    }

    [Test]
    public void ForEachChunk_RunsEveryChunkExactlyOnce_OnAtMostTwoThreads()
    {
        using var worker = new ForkJoinWorker();
        var runs = new int[64];
        var threads = new HashSet<int>();

        for (int round = 0; round < 50; round++)
        {
            worker.ForEachChunk(64, chunk =>
            {
                Interlocked.Increment(ref runs[chunk]);
                lock (threads)
                {
                    threads.Add(Environment.CurrentManagedThreadId);
                }
            });
        }

        runs.Should().OnlyContain(n => n == 50);
        threads.Should().NotBeEmpty().And.HaveCountLessThanOrEqualTo(2, "the caller and the worker, whichever the scheduler let take chunks");
    }

    [Test]
    public void InvokeUnlessLate_RunsTheWorkersHalfOnlyWhenItSaysSo_AndNeverTwice()
    {
        using var worker = new ForkJoinWorker("test worker", TimeSpan.FromMilliseconds(1), yieldWhileIdle: true);
        int mine = 0, theirs = 0, reportedRuns = 0;

        // Whether the worker is in time for a job is the scheduler's business; what may not vary
        // is that a job runs on the worker exactly when InvokeUnlessLate says it did.
        for (int i = 0; i < 2000; i++)
        {
            if (worker.InvokeUnlessLate(() => mine++, () => Interlocked.Increment(ref theirs)))
            {
                reportedRuns++;
            }
        }

        mine.Should().Be(2000);
        Volatile.Read(ref theirs).Should().Be(reportedRuns);
    }

    [Test]
    public void ForEachChunk_WithdrawIfLate_RunsEveryChunkExactlyOnce()
    {
        using var worker = new ForkJoinWorker("test worker", TimeSpan.FromMilliseconds(1), yieldWhileIdle: true);
        var runs = new int[40];

        for (int round = 0; round < 50; round++)
        {
            worker.ForEachChunk(runs.Length, chunk => Interlocked.Increment(ref runs[chunk]), withdrawIfLate: true);
        }

        runs.Should().OnlyContain(n => n == 50);
    }
}
