using System.Globalization;
using EmbeddingsCli;

// embeddings — the command line of ModelManager.Lib; `embeddings --help` lists the commands,
// `embeddings COMMAND --help` their options, and ExitCodes.cs the exit codes scripts can rely on.
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
return await Cli.RunAsync(args);
