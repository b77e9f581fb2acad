using System.Globalization;
using System.Text.RegularExpressions;
using Spectre.Console;

namespace EmbeddingsCli;

/// <summary>
/// The two consoles: results (tables, summary lines) on standard output, progress bars and errors on
/// standard error, so `embeddings list > models.txt` captures only the results. Colours follow the
/// terminal (none when redirected, none with NO_COLOR); redirected output is not wrapped at 80
/// columns, so every table row stays one line for grep and awk.
/// </summary>
internal static partial class Terminal
{
    public static IAnsiConsole Out { get; } = Create(Console.Out, Console.IsOutputRedirected);

    public static IAnsiConsole Err { get; } = Create(Console.Error, Console.IsErrorRedirected);

    /// <summary>Writes "error: message" as one line (inner line breaks folded) to standard error.</summary>
    public static void Error(string message) =>
        Err.MarkupLine($"[red]error:[/] {Markup.Escape(OneLine(message))}");

    public static string OneLine(string text) => Whitespace().Replace(text, " ").Trim();

    public static string Ages(double min, double max) => $"{Number(min)}-{Number(max)}";

    public static string Number(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);

    public static string Figure(double value) => value.ToString("G4", CultureInfo.InvariantCulture);

    /// <summary>"1 model", "3 models".</summary>
    public static string Count(int count, string noun) => count.ToString(CultureInfo.InvariantCulture) + " " + (count == 1 ? noun : noun + "s");

    public static string Short(Guid id) => id.ToString("N")[..8];

    public static Table NewTable(params string[] columns)
    {
        var table = new Table().Border(TableBorder.Rounded);
        foreach (string column in columns)
        {
            // Right-align numbers: a column whose header starts with '#' holds numbers.
            table.AddColumn(column.StartsWith('#') ? new TableColumn(column[1..]).RightAligned() : new TableColumn(column));
        }

        return table;
    }

    private static IAnsiConsole Create(TextWriter writer, bool redirected)
    {
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Interactive = redirected ? InteractionSupport.No : InteractionSupport.Detect,
            Ansi = redirected ? AnsiSupport.No : AnsiSupport.Detect,
            ColorSystem = redirected ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
        });
        if (redirected)
        {
            console.Profile.Width = 240;
        }

        return console;
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
