namespace AgeGroupAnomaly.Storage;

/// <summary>
/// Optional for an <see cref="IModelStore"/> that several processes share: a lock per age range, so
/// that at most one training of a range runs at a time across every instance. A store that does not
/// implement it (<see cref="InMemoryModelStore"/>, <see cref="Sqlite.SqliteModelStore"/>) gets an
/// in-process lock per range instead, shared by the managers of one process over the same store.
/// </summary>
/// <remarks>
/// A lock must go away with its holder: when a process dies, the ranges it held become free
/// (the PostgreSQL store holds an advisory lock on a connection, which the server releases when the
/// connection ends). The lock guards work, not correctness: the store itself keeps one active model
/// per range whatever the locks do.
/// </remarks>
public interface ITrainingLockProvider
{
    /// <summary>Takes the training lock of [<paramref name="ageMin"/>, <paramref name="ageMax"/>] if no one holds it.</summary>
    /// <param name="ageMin">Youngest age of the range (inclusive).</param>
    /// <param name="ageMax">Oldest age of the range (inclusive).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The held lock (dispose it to release), or null when another holder has it.</returns>
    Task<IAsyncDisposable?> TryAcquireTrainingLockAsync(double ageMin, double ageMax, CancellationToken cancellationToken = default);

    /// <summary>Takes the training lock of [<paramref name="ageMin"/>, <paramref name="ageMax"/>], waiting while another holder has it.</summary>
    /// <param name="ageMin">Youngest age of the range (inclusive).</param>
    /// <param name="ageMax">Oldest age of the range (inclusive).</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The held lock; dispose it to release.</returns>
    Task<IAsyncDisposable> AcquireTrainingLockAsync(double ageMin, double ageMax, CancellationToken cancellationToken = default);
}
