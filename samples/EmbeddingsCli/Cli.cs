using System.CommandLine;
using System.Data.Common;
using AgeGroupAnomaly;
using AgeGroupAnomaly.Training;

namespace EmbeddingsCli;

/// <summary>
/// The command tree. System.CommandLine parses (POSIX conventions, generated --help for every
/// command, typo suggestions, response files); Spectre.Console draws the results (see Terminal).
/// </summary>
internal static class Cli
{
    public static readonly Option<string> Database = new("--db")
    {
        Description = "SQLite database file with the samples and model records",
        DefaultValueFactory = _ => "embeddings.db",
        HelpName = "PATH",
        Recursive = true,
    };

    public static readonly Option<string> Checkpoints = new("--checkpoints")
    {
        Description = "Folder of the model checkpoint files",
        DefaultValueFactory = _ => "checkpoints",
        HelpName = "DIR",
        Recursive = true,
    };

    public static RootCommand Build()
    {
        var root = new RootCommand(
            "Per-age-group anomaly detection for drawing embeddings: import samples, plan and train one autoencoder per age group, list models, score files and draw reports.")
        {
            Database,
            Checkpoints,
        };

        root.Subcommands.Add(Commands.Import());
        root.Subcommands.Add(Commands.Plan());
        root.Subcommands.Add(Commands.Train());
        root.Subcommands.Add(Commands.List());
        root.Subcommands.Add(Commands.Score());
        root.Subcommands.Add(Commands.Report());
        return root;
    }

    public static async Task<int> RunAsync(string[] args)
    {
        RootCommand root = Build();
        if (args.Length == 0)
        {
            await root.Parse("--help").InvokeAsync();
            return ExitCodes.Usage;
        }

        ParseResult parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            Command command = parse.CommandResult.Command;
            string help = command is RootCommand ? "embeddings --help" : $"embeddings {command.Name} --help";
            // "Required command was not provided" only repeats what an unrecognised command already says.
            string[] messages = [.. parse.Errors.Select(e => e.Message.TrimEnd('.')).Distinct()];
            messages = messages.Length > 1 ? [.. messages.Where(m => !m.StartsWith("Required command", StringComparison.Ordinal))] : messages;
            // A missing argument: say which, as the usage line does.
            string usage = command.Arguments.Count > 0 && messages.Any(m => m.StartsWith("Required argument", StringComparison.Ordinal))
                ? $"; usage: embeddings {command.Name} {string.Join(" ", command.Arguments.Select(a => a.Arity.MinimumNumberOfValues == 0 ? $"[{a.Name}]" : a.Name))} [options]"
                : string.Empty;
            Terminal.Error($"{string.Join("; ", messages)}{usage}{Suggestion(root, args[0], command)} (see '{help}')");
            return ExitCodes.Usage;
        }

        return await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
    }

    /// <summary>For a mistyped command name, the closest real one.</summary>
    private static string Suggestion(RootCommand root, string first, Command parsed)
    {
        if (parsed is not RootCommand || first.StartsWith('-'))
        {
            return string.Empty;
        }

        Command? closest = root.Subcommands.MinBy(c => Distance(c.Name, first));
        return closest is not null && Distance(closest.Name, first) <= 2 ? $"; did you mean '{closest.Name}'?" : string.Empty;
    }

    private static int Distance(string a, string b)
    {
        int[] previous = [.. Enumerable.Range(0, b.Length + 1)];
        for (int i = 1; i <= a.Length; i++)
        {
            int[] current = new int[b.Length + 1];
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (char.ToLowerInvariant(a[i - 1]) == char.ToLowerInvariant(b[j - 1]) ? 0 : 1));
            }

            previous = current;
        }

        return previous[b.Length];
    }

    /// <summary>Runs a command body and turns every failure into one line on standard error and an exit code.</summary>
    public static Func<ParseResult, CancellationToken, Task<int>> Guarded(Func<ParseResult, CancellationToken, Task<int>> body) =>
        async (parse, cancellationToken) =>
        {
            try
            {
                return await body(parse, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                Terminal.Error("cancelled; nothing of the unfinished step was stored");
                return ExitCodes.Cancelled;
            }
            catch (Exception ex) when (IsExpected(ex))
            {
                Terminal.Error(ex.Message);
                return ExitCodes.Failed;
            }
            catch (Exception ex)
            {
                Terminal.Error($"unexpected {ex.GetType().Name}: {ex.Message} (this is a bug; please report it with the command line)");
                return ExitCodes.Internal;
            }
        };

    private static bool IsExpected(Exception ex) =>
        ex is CommandException or CsvFormatException or ModelManagerException or ArgumentException or IOException
            or UnauthorizedAccessException or FormatException or DbException or InvalidDataException;
}

/// <summary>A problem the command found itself (a missing database, an unknown model id), said in one line.</summary>
internal sealed class CommandException(string message) : Exception(message);
