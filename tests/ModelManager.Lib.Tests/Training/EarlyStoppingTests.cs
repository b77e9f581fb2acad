using AgeGroupAnomaly.Training;
using FluentAssertions;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests.Training;

[TestFixture]
public sealed class EarlyStoppingTests
{
    private static bool[] Feed(EarlyStopping rule, params double[] losses) => [.. losses.Select(rule.Step)];

    [Test]
    public void NewRule_StartsWithInfiniteBestAndEmptyState()
    {
        var rule = new EarlyStopping();

        rule.BestLoss.Should().Be(double.PositiveInfinity);
        rule.Counter.Should().Be(0);
        rule.InRecovery.Should().BeFalse();
        rule.Stopped.Should().BeFalse();
        rule.History.Should().BeEmpty();
    }

    [Test]
    public void Step_WhileImproving_KeepsGoingAndTracksBest()
    {
        var rule = new EarlyStopping(patience: 2, minDelta: 0.01);

        Feed(rule, 1.0, 0.5, 0.25).Should().OnlyContain(stop => !stop);

        rule.BestLoss.Should().Be(0.25);
        rule.Counter.Should().Be(0);
        rule.History.Should().Equal(1.0, 0.5, 0.25);
    }

    [Test]
    public void Step_WithoutImprovementForPatienceEpochs_Stops()
    {
        var rule = new EarlyStopping(patience: 2, minDelta: 0);

        Feed(rule, 1.0, 1.0, 1.0).Should().Equal(false, false, true);

        rule.Counter.Should().Be(2);
        rule.Stopped.Should().BeTrue();
    }

    [Test]
    public void Step_ImprovementSmallerThanMinDelta_CountsAsNoImprovement()
    {
        var rule = new EarlyStopping(patience: 1, minDelta: 0.1);

        Feed(rule, 1.0, 0.95).Should().Equal(false, true);
        rule.BestLoss.Should().Be(1.0);
    }

    [Test]
    public void Step_ImprovementAfterStagnation_ResetsTheCounter()
    {
        var rule = new EarlyStopping(patience: 3, minDelta: 0);

        Feed(rule, 1.0, 2.0, 2.0, 0.5);

        rule.Counter.Should().Be(0);
        rule.BestLoss.Should().Be(0.5);
    }

    [Test]
    public void Step_LossAboveThousandTimesBest_EntersRecoveryAndCounts()
    {
        var rule = new EarlyStopping(patience: 3, minDelta: 0);

        Feed(rule, 1.0, 5000.0).Should().Equal(false, false);

        rule.InRecovery.Should().BeTrue();
        rule.Counter.Should().Be(1);
    }

    [Test]
    public void Step_FallingLossDuringRecovery_ResetsCounterAndContinues()
    {
        var rule = new EarlyStopping(patience: 3, minDelta: 0);
        Feed(rule, 1.0, 5000.0, 6000.0);
        rule.Counter.Should().Be(2);

        rule.Step(4000.0).Should().BeFalse();

        rule.Counter.Should().Be(0);
        rule.InRecovery.Should().BeTrue();
        rule.BestLoss.Should().Be(1.0);
    }

    [Test]
    public void Step_InRecovery_GetsFiveExtraEpochsOfPatience()
    {
        var rule = new EarlyStopping(patience: 2, minDelta: 0);
        rule.Step(1.0);

        bool[] stops = Feed(rule, Enumerable.Repeat(5000.0, 7).ToArray());

        stops.Should().Equal(false, false, false, false, false, false, true);
        rule.Counter.Should().Be(7);
    }

    [Test]
    public void Step_ImprovementDuringRecovery_LeavesRecovery()
    {
        var rule = new EarlyStopping(patience: 2, minDelta: 0);
        Feed(rule, 1.0, 5000.0, 5000.0);

        rule.Step(0.5).Should().BeFalse();

        rule.InRecovery.Should().BeFalse();
        rule.Counter.Should().Be(0);
        rule.BestLoss.Should().Be(0.5);
    }

    [Test]
    public void Step_HugeLossBeforeAnyFiniteBest_IsNotAnExplosion()
    {
        var rule = new EarlyStopping(patience: 2, minDelta: 0);

        rule.Step(1e12).Should().BeFalse();

        rule.InRecovery.Should().BeFalse();
        rule.BestLoss.Should().Be(1e12);
    }

    [Test]
    public void Step_AfterAStop_AnswersContinueWhenTheLossImprovesAgain()
    {
        var rule = new EarlyStopping(patience: 2, minDelta: 0);
        Feed(rule, 1.0, 1.0, 1.0).Should().Equal(false, false, true);

        rule.Step(0.1).Should().BeFalse("a big improvement is not a reason to stop, whatever an earlier epoch answered");

        rule.Stopped.Should().BeFalse();
        rule.Counter.Should().Be(0);
        rule.BestLoss.Should().Be(0.1);
    }

    [Test]
    public void Stopped_EqualsEveryStepsAnswer_ThroughTheRecoveryBranch()
    {
        var rule = new EarlyStopping(patience: 1, minDelta: 0);
        double[] losses = [1.0, 1.0, 5000.0, 4000.0, 4000.0, 4000.0, 4000.0, 4000.0, 4000.0, 4000.0, 0.5];
        var answers = new List<bool>();
        var recovering = new List<bool>();

        foreach (double loss in losses)
        {
            bool stop = rule.Step(loss);
            rule.Stopped.Should().Be(stop, $"Stopped must equal Step's answer after loss {loss} (step {answers.Count})");
            answers.Add(stop);
            recovering.Add(rule.InRecovery);
        }

        // Stop on stagnation; explosion; falling again (the early "continue"); five extra epochs of
        // patience in recovery; then an improvement leaves recovery.
        answers.Should().Equal(false, true, false, false, false, false, false, false, false, true, false);
        recovering.Should().Equal(false, false, true, true, true, true, true, true, true, true, false);
    }

    [Test]
    public void Reset_RestoresTheInitialState_AndTheRuleBehavesAsNew()
    {
        var rule = new EarlyStopping(patience: 1, minDelta: 0.01);
        Feed(rule, 1.0, 1.0, 5000.0).Should().Equal(false, true, false);
        rule.InRecovery.Should().BeTrue();

        rule.Reset();

        rule.BestLoss.Should().Be(double.PositiveInfinity);
        rule.Counter.Should().Be(0);
        rule.InRecovery.Should().BeFalse();
        rule.Stopped.Should().BeFalse();
        rule.History.Should().BeEmpty();
        rule.Patience.Should().Be(1);
        rule.MinDelta.Should().Be(0.01);

        double[] losses = [1e12, 2.0, 2.0, 5000.0, 4000.0, 4000.0, 1.0];
        bool[] fresh = Feed(new EarlyStopping(patience: 1, minDelta: 0.01), losses);
        Feed(rule, losses).Should().Equal(fresh);
        fresh.Should().Equal(false, false, true, false, false, false, false);
    }

    [Test]
    public void Constructor_WithNegativePatience_Throws()
    {
        FluentActions.Invoking(() => new EarlyStopping(patience: -1)).Should().Throw<ArgumentOutOfRangeException>();
    }

    [TestCase(1e-3)]
    [TestCase(1e-1)]
    [TestCase(1e3)]
    public void Relative_LossesImprovingOnePercentAnEpoch_NeverStop_OnAnyScale(double scale)
    {
        var rule = new EarlyStopping(patience: 3, minDelta: 1e-4, relativeMinDelta: true);

        bool stopped = Enumerable.Range(0, 50).Select(e => scale * Math.Pow(0.99, e)).Any(rule.Step);

        stopped.Should().BeFalse("a 1 % improvement is far above 1e-4 of the loss, whatever the loss's scale");
    }

    [Test]
    public void Absolute_TheSameImprovementAtASmallScale_StopsAfterPatience()
    {
        var rule = new EarlyStopping(patience: 3, minDelta: 1e-4);

        int[] stops = [.. Enumerable.Range(0, 50).Select(e => 1e-3 * Math.Pow(0.99, e)).Select((loss, epoch) => rule.Step(loss) ? epoch + 1 : 0).Where(e => e > 0)];

        stops.Should().NotBeEmpty().And.Subject.First().Should().Be(4, "each step improves by about 1e-5 < 1e-4, so epochs 2-4 count as no improvement while the loss is still falling");
    }

    [Test]
    public void Relative_AnswersTheSameForASequenceAndTheSequenceTimesAHundred()
    {
        double[] losses = [5, 4, 3.9996, 3.9995, 3.99949, 3.9994, 3.99, 3.99, 3.99, 3.99];
        var small = new EarlyStopping(patience: 2, minDelta: 1e-4, relativeMinDelta: true);
        var large = new EarlyStopping(patience: 2, minDelta: 1e-4, relativeMinDelta: true);

        bool[] smallAnswers = [.. losses.Select(l => small.Step(l * 0.01))];
        bool[] largeAnswers = [.. losses.Select(l => large.Step(l))];

        smallAnswers.Should().Equal(largeAnswers).And.Contain(true, "the plateau at the end stops it");
    }
}
