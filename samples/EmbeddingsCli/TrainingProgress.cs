using System.Globalization;
using AgeGroupAnomaly;
using AgeGroupAnomaly.Training;
using Spectre.Console;

namespace EmbeddingsCli;

/// <summary>
/// One progress bar per age group on standard error: epochs done out of the configured most, with
/// the latest validation loss. A group that stops early is filled when training moves on. When
/// standard error is not a terminal (a log, a pipe), one plain line per group as it starts instead.
/// </summary>
internal static class TrainingProgress
{
    public static Task<IReadOnlyList<AgeGroupTrainingResult>> RunAsync(
        AgeGroupPlan[] groups, int maxEpochs, Func<IProgress<EpochRecord>, IProgress<AgeGroupProgress>, Task<IReadOnlyList<AgeGroupTrainingResult>>> train)
    {
        if (!Terminal.Err.Profile.Capabilities.Interactive)
        {
            int started = -1;
            void Started(int index)
            {
                if (index > started && index < groups.Length)
                {
                    started = index;
                    Terminal.Err.WriteLine($"training ages {Terminal.Ages(groups[index].AgeMin, groups[index].AgeMax)} ({index + 1} of {groups.Length}, at most {maxEpochs} epochs)");
                }
            }

            return train(new Synchronous<EpochRecord>(_ => Started(0)), new Synchronous<AgeGroupProgress>(p => Started(p.GroupIndex)));
        }

        return Terminal.Err.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
            .StartAsync(async context =>
            {
                ProgressTask[] tasks = [.. groups.Select(g => context.AddTask(Label(g, "waiting"), autoStart: false, maxValue: maxEpochs))];

                void Report(int index, EpochRecord epoch)
                {
                    if (index >= tasks.Length)
                    {
                        return; // the library re-planned and found more groups than were shown: nothing to draw
                    }

                    for (int i = 0; i < index; i++)
                    {
                        Finish(tasks[i], Label(groups[i], "done"));
                    }

                    if (!tasks[index].IsStarted)
                    {
                        tasks[index].StartTask(); // the elapsed time counts from the group's first epoch
                    }

                    tasks[index].Value = epoch.Epoch;
                    tasks[index].Description = Label(groups[index], string.Create(CultureInfo.InvariantCulture, $"epoch {epoch.Epoch}/{maxEpochs}, validation loss {epoch.ValidationLoss:G4}"));
                }

                IReadOnlyList<AgeGroupTrainingResult> results = await train(
                    new Synchronous<EpochRecord>(e => Report(0, e)),
                    new Synchronous<AgeGroupProgress>(p => Report(p.GroupIndex, p.Epoch)));
                for (int i = 0; i < tasks.Length; i++)
                {
                    TrainingResult? t = i < results.Count ? results[i].Training : null;
                    Finish(tasks[i], Label(groups[i], t is null ? "done" : $"{t.EpochsTrained} epochs, {t.StopReason}"));
                }

                return results;
            });
    }

    private static void Finish(ProgressTask task, string description)
    {
        task.Description = description;
        task.Value = task.MaxValue;
        task.StopTask();
    }

    private static string Label(AgeGroupPlan group, string state) => Markup.Escape($"ages {Terminal.Ages(group.AgeMin, group.AgeMax)}: {state}");

    /// <summary>Reports on the training thread, in order (Progress&lt;T&gt; would post to the thread pool and could reorder epochs).</summary>
    private sealed class Synchronous<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
