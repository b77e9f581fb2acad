namespace EmbeddingsCli;

/// <summary>
/// What the process exit code tells a script. Stable: scripts may test for these values
/// (the README's "Command line" section lists them).
/// </summary>
internal static class ExitCodes
{
    /// <summary>The command did what it was asked.</summary>
    public const int Success = 0;

    /// <summary>
    /// The command ran but could not finish: bad input data (a CSV line, an embedding), a model or
    /// store problem the library named (too few samples, no model for an age, a damaged checkpoint),
    /// or a file that cannot be read or written. Nothing was half-written.
    /// </summary>
    public const int Failed = 1;

    /// <summary>The command line itself is wrong: unknown command or option, a missing or malformed value.</summary>
    public const int Usage = 2;

    /// <summary><c>score --fail-on-anomaly</c>: scoring worked and at least one embedding was flagged.</summary>
    public const int AnomaliesFound = 3;

    /// <summary>An unexpected error (a bug): the one-line message names the exception type.</summary>
    public const int Internal = 70;

    /// <summary>Interrupted (Ctrl+C or SIGTERM) before the command finished.</summary>
    public const int Cancelled = 130;
}
