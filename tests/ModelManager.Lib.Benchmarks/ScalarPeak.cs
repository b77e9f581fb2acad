using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using AgeGroupAnomaly.Compute;

namespace AgeGroupAnomaly.Benchmarks;

/// <summary>
/// <c>--scalar-peak</c>: the scalar path's single-row product at its best, on a 96 → 96 layer whose
/// weights stay in L1 (no memory stalls), and what that rate means for one 832 → [256, 128, 64]
/// score (507,904 multiply-adds): the compute floor of <c>DOTNET_EnableHWIntrinsic=0</c>, whatever
/// the memory does. Run it under that variable to see the code that path runs.
/// </summary>
internal static class ScalarPeak
{
    private const int Size = 96;
    private const int Repeats = 2000;
    private const double ScoreMultiplyAdds = (832 * 256) + (256 * 128) + (128 * 64) + (64 * 128) + (128 * 256) + (256 * 832);

    public static int Run()
    {
        var rng = new Random(3);
        float[] weight = [.. Enumerable.Range(0, Size * Size).Select(_ => (float)(rng.NextDouble() - 0.5))];
        float[] packed = InferenceProducts.Pack(weight, Size, Size, InferenceProducts.PanelWidth<LanesScalar>());
        float[] bias = new float[Size], x = [.. Enumerable.Range(0, Size).Select(_ => (float)rng.NextDouble())], y = new float[Size];
        Products(packed, bias, x, y, 50);
        var times = new List<double>();
        for (int round = 0; round < 15; round++)
        {
            long start = Stopwatch.GetTimestamp();
            Products(packed, bias, x, y, Repeats);
            times.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
        }

        double perSecond = (double)Size * Size * Repeats / ExplainCost.Median(times);
        Console.WriteLine(
            $"scalar single-row product, L1-resident {Size} -> {Size} layer: {perSecond / 1e9:F2} G multiply-adds/s on one core = " +
            $"{ScoreMultiplyAdds / perSecond * 1e6:F1} us per 832 -> [256, 128, 64] score on one core, {ScoreMultiplyAdds / perSecond * 1e6 / 2:F1} us split perfectly across two " +
            $"(SIMD path of this process: {SimdPaths.Active}; load {File.ReadAllText("/proc/loadavg").Trim()})");
        return 0;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Products(float[] packed, float[] bias, float[] x, float[] y, int repeats)
    {
        ref byte w = ref Unsafe.As<float, byte>(ref MemoryMarshal.GetArrayDataReference(packed));
        for (int r = 0; r < repeats; r++)
        {
            InferenceProducts.Row<LanesScalar, Float32Weights>(ref x[0], ref w, ref bias[0], ref y[0], Size, Size, 0, Size);
        }
    }
}
