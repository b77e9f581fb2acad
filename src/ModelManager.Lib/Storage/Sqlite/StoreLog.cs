using Microsoft.Extensions.Logging;

namespace AgeGroupAnomaly.Storage.Sqlite;

internal static partial class StoreLog
{
    [LoggerMessage(EventId = 2100, Level = LogLevel.Warning, Message = "Skipped the damaged model record in row {RowId}: {Problem}")]
    public static partial void DamagedRecordSkipped(ILogger logger, long rowId, string problem);
}
