using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Text.Json;
using AgeGroupAnomaly;
using AgeGroupAnomaly.Plots;
using AgeGroupAnomaly.Scoring;
using AgeGroupAnomaly.Storage;
using AgeGroupAnomaly.Storage.Sqlite;
using AgeGroupAnomaly.Training;
using Spectre.Console;

namespace EmbeddingsCli;

/// <summary>One method per command: its arguments, options, help text and action.</summary>
internal static class Commands
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public static Command Import()
    {
        var file = new Argument<string>("FILE.csv") { Description = "Rows of age[,subject],v1,v2,…; a header line is skipped" };
        var command = new Command("import", "Add embeddings from a CSV file to the database, all or nothing (one transaction)") { file };
        command.SetAction(Cli.Guarded(async (parse, cancellationToken) =>
        {
            string path = parse.GetValue(file)!;
            List<EmbeddingRow> rows = EmbeddingCsv.Read(path);
            using Session session = Session.Open(parse, mustExist: false);
            await session.Store.AddSamplesAsync([.. rows.Select(r => new NewSample(r.Age, r.Embedding, r.Subject))], cancellationToken);
            int ages = rows.Select(r => r.Age).Distinct().Count();
            Terminal.Out.WriteLine($"imported {rows.Count} embeddings of {rows[0].Embedding.Length} values into {session.DatabasePath} ({ages} distinct ages)");
            return ExitCodes.Success;
        }));
        return command;
    }

    public static Command Plan()
    {
        var (minSamples, maxSpan) = PlanOptions();
        var command = new Command("plan", "Show the age groups training would use, from the ages in the database") { minSamples, maxSpan };
        command.SetAction(Cli.Guarded(async (parse, cancellationToken) =>
        {
            using Session session = Session.Open(parse, mustExist: true);
            AgeGroupPlanOptions options = PlanOptionsOf(parse, minSamples, maxSpan);
            IReadOnlyList<AgeGroupPlan> plan = await session.Manager.PlanAgeGroupsAsync(options, cancellationToken);

            Table table = Terminal.NewTable("Ages", "#Samples", "Trained by 'train'");
            foreach (AgeGroupPlan group in plan)
            {
                table.AddRow(Terminal.Ages(group.AgeMin, group.AgeMax), group.SampleCount.ToString(CultureInfo.InvariantCulture), group.HasEnoughSamples ? "yes" : $"no: fewer than {options.MinSamples} samples");
            }

            Terminal.Out.Write(table);
            int trainable = plan.Count(g => g.HasEnoughSamples);
            Terminal.Out.WriteLine($"{Terminal.Count(plan.Count, "group")}, {Terminal.Count(plan.Sum(g => g.SampleCount), "sample")}; {trainable} of them have at least {options.MinSamples} samples and would be trained");
            return ExitCodes.Success;
        }));
        return command;
    }

    public static Command Train()
    {
        var (minSamples, maxSpan) = PlanOptions();
        var epochs = new Option<int>("--epochs") { Description = "Most epochs per model (early stopping may end sooner)", DefaultValueFactory = _ => 100, HelpName = "N" };
        epochs.Validators.Add(r => AtLeast(r, 1));
        var ages = new Option<string?>("--ages") { Description = "Train only this range, for example 3-5 (default: every planned group)", HelpName = "A-B" };
        ages.Validators.Add(r => _ = AgeRange(r));
        var report = new Option<string?>("--report") { Description = "Also write each new model's PNG report into a folder of DIR", HelpName = "DIR" };
        var command = new Command("train", "Train one model per age group (or one range) and make each the active model of its range")
        {
            epochs, ages, minSamples, maxSpan, report,
        };
        command.SetAction(Cli.Guarded(async (parse, cancellationToken) =>
        {
            using Session session = Session.Open(parse, mustExist: true);
            TrainingConfig config = TrainingConfig.Default with { Epochs = parse.GetValue(epochs) };
            (double Min, double Max)? range = parse.GetValue(ages) is { } text ? ParseAges(text) : null;
            AgeGroupPlanOptions planOptions = PlanOptionsOf(parse, minSamples, maxSpan);
            AgeGroupPlan[] groups = range is { } r
                ? [new AgeGroupPlan(r.Min, r.Max, 0, true)]
                : [.. (await session.Manager.PlanAgeGroupsAsync(planOptions, cancellationToken)).Where(g => g.HasEnoughSamples)];
            if (groups.Length == 0)
            {
                throw new CommandException($"no age group has at least {planOptions.MinSamples} samples, so there is nothing to train (see 'embeddings plan'; --min-samples lowers the bar)");
            }

            IReadOnlyList<AgeGroupTrainingResult> results = await TrainingProgress.RunAsync(groups, config.Epochs, async (progress, groupProgress) => range is { } one
                ? [await session.Manager.TrainAgeGroupModelAsync(one.Min, one.Max, config, progress, cancellationToken)]
                : await session.Manager.TrainAllAgeGroupsAsync(planOptions, config, groupProgress, cancellationToken));

            Table table = Terminal.NewTable("Ages", "Model", "#Samples", "#Epochs", "Stopped by", "#Best epoch", "#Validation loss", "#Threshold");
            foreach (AgeGroupTrainingResult result in results)
            {
                TrainingResult t = result.Training;
                table.AddRow(
                    Terminal.Ages(result.AgeMin, result.AgeMax), result.ModelId.ToString(), result.SampleCount.ToString(CultureInfo.InvariantCulture),
                    t.EpochsTrained.ToString(CultureInfo.InvariantCulture), t.StopReason.ToString(), t.BestEpoch.ToString(CultureInfo.InvariantCulture),
                    Terminal.Figure(t.BestValidationLoss), Terminal.Figure(result.Threshold));
            }

            Terminal.Out.Write(table);
            Terminal.Out.WriteLine($"trained {Terminal.Count(results.Count, "model")}; each is now the active model of its age range");
            if (parse.GetValue(report) is { } folder)
            {
                WriteReports(folder, [.. results.Select(r => (r.Model, (IReadOnlyList<double>?)null))]);
            }

            return ExitCodes.Success;
        }));
        return command;
    }

    public static Command List()
    {
        var json = new Option<bool>("--json") { Description = "Print a JSON array instead of a table (for scripts)" };
        var command = new Command("list", "List the stored models, newest first within each age range") { json };
        command.SetAction(Cli.Guarded(async (parse, cancellationToken) =>
        {
            using Session session = Session.Open(parse, mustExist: true);
            ModelInfo[] models = [.. (await session.Manager.ListModelsAsync(cancellationToken)).OrderBy(m => m.AgeMin).ThenBy(m => m.AgeMax).ThenByDescending(m => m.CreatedUtc)];
            if (parse.GetValue(json))
            {
                Terminal.Out.Profile.Out.Writer.WriteLine(JsonSerializer.Serialize(
                    models.Select(m => new
                    {
                        m.Id, m.AgeMin, m.AgeMax, Active = m.IsActive, Samples = m.SampleCount, Dimension = m.EmbeddingDimension, m.Threshold,
                        Epochs = m.Training.EpochsTrained, m.Training.BestEpoch, StopReason = m.Training.StopReason.ToString(), m.CreatedUtc,
                    }),
                    Json));
                return ExitCodes.Success;
            }

            Table table = Terminal.NewTable("Model", "Ages", "State", "#Samples", "#Dim", "#Epochs", "#Threshold", "Created (UTC)");
            foreach (ModelInfo m in models)
            {
                table.AddRow(
                    new Text(m.Id.ToString()), new Text(Terminal.Ages(m.AgeMin, m.AgeMax)), new Markup(m.IsActive ? "[green]active[/]" : "[grey]inactive[/]"),
                    new Text(m.SampleCount.ToString(CultureInfo.InvariantCulture)), new Text(m.EmbeddingDimension.ToString(CultureInfo.InvariantCulture)),
                    new Text(m.Training.EpochsTrained.ToString(CultureInfo.InvariantCulture)), new Text(Terminal.Figure(m.Threshold)),
                    new Text(m.CreatedUtc.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)));
            }

            Terminal.Out.Write(table);
            Terminal.Out.WriteLine($"{Terminal.Count(models.Length, "model")}, {models.Count(m => m.IsActive)} active");
            return ExitCodes.Success;
        }));
        return command;
    }

    public static Command Score()
    {
        var input = new Argument<string>("IN.csv") { Description = "Rows to score: age[,subject],v1,v2,…" };
        var output = new Argument<string?>("OUT.csv") { Description = "Where to write one result line per row (optional)", Arity = ArgumentArity.ZeroOrOne };
        var top = new Option<int>("--top") { Description = "Rows shown in the table of highest scores (0 hides it)", DefaultValueFactory = _ => 10, HelpName = "N" };
        top.Validators.Add(r => AtLeast(r, 0));
        var failOnAnomaly = new Option<bool>("--fail-on-anomaly") { Description = $"Exit with code {ExitCodes.AnomaliesFound} when any row is flagged" };
        var command = new Command("score", "Score every row against the active model of its age, show the highest and write the results") { input, output, top, failOnAnomaly };
        command.SetAction(Cli.Guarded(async (parse, cancellationToken) =>
        {
            List<EmbeddingRow> rows = EmbeddingCsv.Read(parse.GetValue(input)!);
            using Session session = Session.Open(parse, mustExist: true);
            IReadOnlyList<ScoreResult> scores = await session.Manager.ScoreBatchAsync([.. rows.Select(r => r.Embedding)], [.. rows.Select(r => r.Age)], cancellationToken);
            string? outputPath = parse.GetValue(output);
            if (outputPath is not null)
            {
                await WriteScoresAsync(outputPath, rows, scores, cancellationToken);
            }

            Table groups = Terminal.NewTable("Ages", "Model", "#Rows", "#Flagged", "#Highest ratio");
            foreach (var group in rows.Zip(scores).GroupBy(p => p.Second.ModelId).OrderBy(g => g.First().Second.AgeMin))
            {
                ScoreResult first = group.First().Second;
                int flagged = group.Count(p => p.Second.IsAnomaly);
                groups.AddRow(
                    new Text(Terminal.Ages(first.AgeMin, first.AgeMax)), new Text(Terminal.Short(first.ModelId)), new Text(group.Count().ToString(CultureInfo.InvariantCulture)),
                    new Markup(flagged > 0 ? $"[red]{flagged}[/]" : "0"), new Text(Terminal.Figure(group.Max(p => p.Second.ThresholdRatio))));
            }

            Terminal.Out.Write(groups);
            int shown = parse.GetValue(top);
            if (shown > 0)
            {
                Table highest = Terminal.NewTable("#Line", "#Age", "Subject", "#Loss", "#Threshold", "#Ratio", "#Percentile", "Flagged").Title("Highest scores");
                foreach (var (row, score) in rows.Zip(scores).OrderByDescending(p => p.Second.ThresholdRatio).Take(shown))
                {
                    highest.AddRow(
                        new Text(row.Line.ToString(CultureInfo.InvariantCulture)), new Text(Terminal.Number(row.Age)), new Text(row.Subject ?? string.Empty),
                        new Text(Terminal.Figure(score.ReconstructionLoss)), new Text(Terminal.Figure(score.Threshold)), new Text(score.ThresholdRatio.ToString("0.00", CultureInfo.InvariantCulture)),
                        new Text(score.PercentileRank.ToString("0.#", CultureInfo.InvariantCulture)), new Markup(score.IsAnomaly ? "[red]anomaly[/]" : "no"));
                }

                Terminal.Out.Write(highest);
            }

            int anomalies = scores.Count(s => s.IsAnomaly);
            Terminal.Out.WriteLine($"scored {rows.Count} embeddings{(outputPath is null ? string.Empty : $" into {outputPath}")}: {anomalies} flagged");
            return parse.GetValue(failOnAnomaly) && anomalies > 0 ? ExitCodes.AnomaliesFound : ExitCodes.Success;
        }));
        return command;
    }

    public static Command Report()
    {
        var model = new Argument<string?>("MODEL") { Description = "Model id or its first characters (default: every active model)", Arity = ArgumentArity.ZeroOrOne };
        var folder = new Option<string>("--out") { Description = "Folder for the reports; each model gets its own subfolder", DefaultValueFactory = _ => "reports", HelpName = "DIR" };
        var batch = new Option<string?>("--batch") { Description = "Also draw the score distribution of this CSV's rows (those in the model's age range)", HelpName = "FILE.csv" };
        var width = new Option<int>("--width") { Description = "Image width in pixels", DefaultValueFactory = _ => 900, HelpName = "PX" };
        var height = new Option<int>("--height") { Description = "Image height in pixels", DefaultValueFactory = _ => 540, HelpName = "PX" };
        var command = new Command("report", "Write PNG plots of a model: training curves, calibration errors with the threshold and, with --batch, a score distribution")
        {
            model, folder, batch, width, height,
        };
        command.SetAction(Cli.Guarded(async (parse, cancellationToken) =>
        {
            var options = new ModelPlotOptions { Width = parse.GetValue(width), Height = parse.GetValue(height) };
            options.Validate();
            List<EmbeddingRow>? rows = parse.GetValue(batch) is { } batchPath ? EmbeddingCsv.Read(batchPath) : null;
            using Session session = Session.Open(parse, mustExist: true);
            IReadOnlyList<ModelInfo> all = await session.Manager.ListModelsAsync(cancellationToken);
            ModelInfo[] chosen = parse.GetValue(model) is { } id ? [Resolve(all, id)] : [.. all.Where(m => m.IsActive).OrderBy(m => m.AgeMin)];
            if (chosen.Length == 0)
            {
                throw new CommandException("there is no active model to report on; train one first (see 'embeddings train --help')");
            }

            var work = new List<(ModelInfo, IReadOnlyList<double>?)>();
            foreach (ModelInfo m in chosen)
            {
                EmbeddingRow[] inRange = rows is null ? [] : [.. rows.Where(r => r.Age >= m.AgeMin && r.Age <= m.AgeMax)];
                IReadOnlyList<double>? losses = inRange.Length == 0 ? null
                    : await session.Manager.ComputeReconstructionLossesAsync([.. inRange.Select(r => (ReadOnlyMemory<float>)r.Embedding)], m.Id, cancellationToken);
                work.Add((m, losses));
            }

            WriteReports(parse.GetValue(folder)!, work, options);
            return ExitCodes.Success;
        }));
        return command;
    }

    private static void WriteReports(string folder, List<(ModelInfo Model, IReadOnlyList<double>? Losses)> models, ModelPlotOptions? options = null)
    {
        Table table = Terminal.NewTable("Ages", "Model", "Files");
        int files = 0;
        foreach (var (model, losses) in models)
        {
            string directory = Path.Combine(folder, $"ages-{Terminal.Ages(model.AgeMin, model.AgeMax)}_{Terminal.Short(model.Id)}");
            ModelReport report = ModelPlots.WriteReport(model, directory, losses, options);
            files += report.Files.Count;
            table.AddRow(
                Terminal.Ages(model.AgeMin, model.AgeMax), Terminal.Short(model.Id),
                report.Files.Count > 0 ? string.Join(Environment.NewLine, report.Files) : "none: no training history or calibration errors stored (an imported model); --batch draws its scores");
        }

        Terminal.Out.Write(table);
        Terminal.Out.WriteLine($"wrote {Terminal.Count(files, "PNG file")} for {Terminal.Count(models.Count, "model")} into {folder}");
    }

    private static ModelInfo Resolve(IReadOnlyList<ModelInfo> models, string id)
    {
        string wanted = id.Replace("-", string.Empty, StringComparison.Ordinal);
        ModelInfo[] matches = [.. models.Where(m => m.Id.ToString("N").StartsWith(wanted, StringComparison.OrdinalIgnoreCase))];
        return matches.Length switch
        {
            1 => matches[0],
            0 => throw new CommandException($"no model id starts with '{id}' (see 'embeddings list')"),
            _ => throw new CommandException($"'{id}' matches {matches.Length} models; give more characters of the id"),
        };
    }

    private static async Task WriteScoresAsync(string path, List<EmbeddingRow> rows, IReadOnlyList<ScoreResult> scores, CancellationToken cancellationToken)
    {
        // Written beside the target and renamed: an interrupted run leaves the old file or none, never half a file.
        string full = Path.GetFullPath(path);
        string temporary = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            await using (var writer = new StreamWriter(temporary))
            {
                await writer.WriteLineAsync("line,age,model_id,age_min,age_max,loss,threshold,ratio,percentile_rank,is_anomaly");
                for (int i = 0; i < rows.Count; i++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    ScoreResult s = scores[i];
                    await writer.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                        $"{rows[i].Line},{rows[i].Age},{s.ModelId},{s.AgeMin},{s.AgeMax},{s.ReconstructionLoss:G9},{s.Threshold:G9},{s.ThresholdRatio:G6},{s.PercentileRank:0.##},{(s.IsAnomaly ? 1 : 0)}"));
                }
            }

            File.Move(temporary, full, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    private static (Option<int> MinSamples, Option<int> MaxSpan) PlanOptions()
    {
        var minSamples = new Option<int>("--min-samples") { Description = "Fewest samples an age group needs to be trained", DefaultValueFactory = _ => 50, HelpName = "N" };
        minSamples.Validators.Add(r => AtLeast(r, 1));
        var maxSpan = new Option<int>("--max-span") { Description = "Most whole years one age group may span", DefaultValueFactory = _ => 4, HelpName = "YEARS" };
        maxSpan.Validators.Add(r => AtLeast(r, 1));
        return (minSamples, maxSpan);
    }

    private static AgeGroupPlanOptions PlanOptionsOf(ParseResult parse, Option<int> minSamples, Option<int> maxSpan) =>
        new() { MinSamples = parse.GetValue(minSamples), MaxSpanYears = parse.GetValue(maxSpan) };

    private static void AtLeast(OptionResult result, int minimum)
    {
        // Read the token, not the typed value: a value that is not a number already has its own parse error.
        if (result.Tokens.Count == 1 && int.TryParse(result.Tokens[0].Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) && value < minimum)
        {
            result.AddError($"{result.Option.Name} must be at least {minimum}; it is {value}");
        }
    }

    private static (double Min, double Max)? AgeRange(OptionResult result)
    {
        string? text = result.Tokens.Count == 1 ? result.Tokens[0].Value : null;
        if (text is null)
        {
            return null;
        }

        (double Min, double Max)? range = TryParseAges(text);
        if (range is null)
        {
            result.AddError($"--ages takes a range of years such as 3-5 (youngest-oldest, both >= 0); '{text}' is not one");
        }

        return range;
    }

    private static (double Min, double Max) ParseAges(string text) =>
        TryParseAges(text) ?? throw new FormatException($"'{text}' is not an age range such as 3-5");

    private static (double Min, double Max)? TryParseAges(string text)
    {
        string[] bounds = text.Split('-');
        return bounds.Length == 2
            && double.TryParse(bounds[0], NumberStyles.Float, CultureInfo.InvariantCulture, out double min)
            && double.TryParse(bounds[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double max)
            && double.IsFinite(min) && double.IsFinite(max) && min >= 0 && max >= min
            ? (min, max)
            : null;
    }
}

/// <summary>The database and the manager over it, for one command.</summary>
internal sealed class Session : IDisposable
{
    private Session(string databasePath, SqliteModelStore store, ModelManager manager)
    {
        DatabasePath = databasePath;
        Store = store;
        Manager = manager;
    }

    public string DatabasePath { get; }

    public SqliteModelStore Store { get; }

    public ModelManager Manager { get; }

    /// <summary>Opens the database; every command but import needs it to exist already (a typo in --db would otherwise create an empty one).</summary>
    public static Session Open(ParseResult parse, bool mustExist)
    {
        string database = parse.GetValue(Cli.Database)!;
        if (mustExist && !File.Exists(database))
        {
            throw new CommandException($"the database '{database}' does not exist; import embeddings first ('embeddings import FILE.csv --db {database}')");
        }

        var store = new SqliteModelStore(database);
        return new Session(database, store, new ModelManager(store, new ModelManagerOptions { CheckpointDirectory = parse.GetValue(Cli.Checkpoints)! }));
    }

    public void Dispose()
    {
        Manager.Dispose();
        Store.Dispose();
    }
}
