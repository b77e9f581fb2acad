namespace AgeGroupAnomaly;

/// <summary>
/// A stored record cannot be read (an id that is not a GUID, a value of the wrong type or out of
/// range), for example after a tool edited the database by hand. Only that record is affected: it
/// is skipped, with a logged warning, when models are listed, and this exception is thrown when that
/// exact record is asked for.
/// </summary>
public sealed class DamagedRecordException : ModelLoadingException
{
    /// <summary>Creates an exception with a default message.</summary>
    public DamagedRecordException()
        : this("A stored record cannot be read.")
    {
    }

    /// <summary>Creates an exception with the given message.</summary>
    /// <param name="message">What went wrong.</param>
    public DamagedRecordException(string message)
        : base(message, null, ModelLoadFailure.DamagedRecord)
    {
    }

    /// <summary>Creates an exception with the given message and cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public DamagedRecordException(string message, Exception innerException)
        : base(null, ModelLoadFailure.DamagedRecord, message, innerException)
    {
    }

    /// <summary>Creates an exception for one stored row.</summary>
    /// <param name="rowId">The row's id in the store (SQLite's <c>rowid</c>).</param>
    /// <param name="problem">What is wrong with it.</param>
    public DamagedRecordException(long rowId, string problem)
        : base(FormattableString.Invariant($"The model record in row {rowId} is damaged: {problem}. Only this record is affected; repair or delete the row."), null, ModelLoadFailure.DamagedRecord)
    {
        RowId = rowId;
        Problem = problem;
    }

    /// <summary>The damaged row's id in the store, when known.</summary>
    public long? RowId { get; }

    /// <summary>What is wrong with the record, when known.</summary>
    public string? Problem { get; }
}
