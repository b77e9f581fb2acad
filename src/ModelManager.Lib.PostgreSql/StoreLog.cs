using Microsoft.Extensions.Logging;

namespace AgeGroupAnomaly.Storage.PostgreSql;

internal static partial class StoreLog
{
    [LoggerMessage(EventId = 2100, Level = LogLevel.Warning, Message = "Skipped the damaged model record in row {RowId}: {Problem}")]
    public static partial void DamagedRecordSkipped(ILogger logger, long rowId, string problem);

    [LoggerMessage(EventId = 2110, Level = LogLevel.Information, Message = "Listening for model changes on channel {Channel} (schema {Schema})")]
    public static partial void Listening(ILogger logger, string channel, string schema);

    [LoggerMessage(EventId = 2111, Level = LogLevel.Warning, Message = "The connection listening for model changes failed; retrying in {DelayMs} ms (routing refreshes periodically meanwhile)")]
    public static partial void ListenerFailed(ILogger logger, double delayMs, Exception exception);

    [LoggerMessage(EventId = 2112, Level = LogLevel.Warning, Message = "Releasing the training lock of ages [{AgeMin}, {AgeMax}] failed; it is released with its connection")]
    public static partial void UnlockFailed(ILogger logger, double ageMin, double ageMax, Exception exception);

    [LoggerMessage(EventId = 2113, Level = LogLevel.Information, Message = "PostgreSQL store schema {Schema} migrated from version {From} to {To}")]
    public static partial void Migrated(ILogger logger, string schema, int from, int to);
}
