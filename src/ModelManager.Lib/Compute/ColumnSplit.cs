namespace AgeGroupAnomaly.Compute;

/// <summary>
/// Splits the columns of one matrix product into contiguous ranges, one per thread. The kernels
/// compute each element the same way whatever range it falls in, so results do not depend on the
/// split; products too small to repay a thread hand-off run on the caller's thread.
/// </summary>
internal static class ColumnSplit
{
    // Below this many multiply-adds (~10 µs of work) waking a second thread costs more than it saves.
    private const long MinimumParallelWork = 256 * 1024;

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static void Run<TState>(int columns, int alignment, int threads, long multiplyAdds, TState state, Action<TState, int, int> body, ForkJoinWorker? worker = null)
    {
        int parts = Math.Min(threads, columns / Math.Max(alignment, 1));
        if (parts < 2 || multiplyAdds < MinimumParallelWork)
        {
            body(state, 0, columns);
            return;
        }

        if (parts == 2 && worker is not null)
        {
            (int start0, int end0) = Range(columns, alignment, 2, 0);
            (int start1, int end1) = Range(columns, alignment, 2, 1);
            worker.Invoke(() => body(state, start0, end0), () => body(state, start1, end1));
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
