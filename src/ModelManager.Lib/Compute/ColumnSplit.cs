namespace AgeGroupAnomaly.Compute;

/// <summary>
/// Splits the columns of one matrix product into contiguous ranges for several threads: about
/// eight chunks shared out dynamically through a <see cref="ForkJoinWorker"/>, or one range per
/// thread on the thread pool. The kernels compute each element the same way whatever range it
/// falls in, so results do not depend on the split; products too small to repay a thread
/// hand-off run on the caller's thread.
/// </summary>
internal static class ColumnSplit
{
    // Below this many multiply-adds (~10 µs of work) waking a second thread costs more than it saves.
    private const long MinimumParallelWork = 256 * 1024;

    // Enough chunks that a core slowed by the host hands its share to the other, few enough that
    // each still streams a good run of weight columns.
    private const int ChunksPerProduct = 8;

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static void Run<TState>(int columns, int alignment, int threads, long multiplyAdds, TState state, Action<TState, int, int> body, ForkJoinWorker? worker = null)
    {
        int parts = Math.Min(threads, columns / Math.Max(alignment, 1));
        if (parts < 2 || multiplyAdds < MinimumParallelWork)
        {
            body(state, 0, columns);
            return;
        }

        if (worker is not null)
        {
            int chunk = (columns / ChunksPerProduct + alignment - 1) / alignment * alignment;
            chunk = Math.Max(chunk, alignment);
            int chunks = (columns + chunk - 1) / chunk;
            worker.ForEachChunk(chunks, c => body(state, c * chunk, Math.Min(columns, (c + 1) * chunk)));
            return;
        }

        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, part =>
        {
            (int start, int end) = Range(columns, alignment, parts, part);
            body(state, start, end);
        });
    }

    /// <summary>Part <paramref name="part"/> of <paramref name="parts"/>: boundaries on multiples of <paramref name="alignment"/>.</summary>
    internal static (int Start, int End) Range(int columns, int alignment, int parts, int part)
    {
        int units = columns / alignment;
        int start = units * part / parts * alignment;
        int end = part == parts - 1 ? columns : units * (part + 1) / parts * alignment;
        return (start, end);
    }
}
