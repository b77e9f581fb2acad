using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using AgeGroupAnomaly.Compute;

namespace AgeGroupAnomaly.Benchmarks;

/// <summary>
/// <c>--backward-widths</c>: the backward products of one training step of the 832 → [256, 128, 64]
/// model (dW = dZᵀ · X and dX = dZ · W for all six layers, batch 32) on one core at 256 and at
/// 512 bits, alternated in one process (41 rounds of 20 steps, medians), and whether both widths
/// give the same bits. Needs AVX-512.
/// </summary>
internal static class BackwardWidths
{
    private const int Batch = 32;

    public static int Run()
    {
        if (!Vector512.IsHardwareAccelerated)
        {
            Console.WriteLine("--backward-widths compares 256 and 512 bits; this process has no AVX-512.");
            return 1;
        }

        var rng = new Random(3);
        (int In, int Out)[] layers = [(832, 256), (256, 128), (128, 64), (64, 128), (128, 256), (256, 832)];
        float[] Values(int count) => [.. Enumerable.Range(0, count).Select(_ => (float)(rng.NextDouble() - 0.5))];
        float[][] inputs = [.. layers.Select(l => Values(Batch * l.In))];
        float[][] outputGradients = [.. layers.Select(l => Values(Batch * l.Out))];
        float[][] weights = [.. layers.Select(l => Values(l.In * l.Out))];
        float[][] weightGradients = [new float[832 * 256], new float[832 * 256]];
        float[][] inputGradients = [new float[Batch * 832], new float[Batch * 832]];
        List<double>[] times = [[], []];
        bool same = true;

        void Backward<T>(int side)
            where T : struct, ILanes<T>
        {
            for (int l = 0; l < layers.Length; l++)
            {
                (int inSize, int outSize) = layers[l];
                MatrixKernels.Multiply<T>(
                    ref MemoryMarshal.GetArrayDataReference(outputGradients[l]), 1, outSize, ref MemoryMarshal.GetArrayDataReference(inputs[l]), inSize,
                    ref MemoryMarshal.GetArrayDataReference(weightGradients[side]), inSize, outSize, Batch, 0, inSize);
                MatrixKernels.Multiply<T>(
                    ref MemoryMarshal.GetArrayDataReference(outputGradients[l]), outSize, 1, ref MemoryMarshal.GetArrayDataReference(weights[l]), inSize,
                    ref MemoryMarshal.GetArrayDataReference(inputGradients[side]), inSize, Batch, outSize, 0, inSize);
            }
        }

        for (int round = 0; round < 41; round++)
        {
            long start = Stopwatch.GetTimestamp();
            for (int step = 0; step < 20; step++)
            {
                Backward<Lanes256>(0);
            }

            times[0].Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds / 20);
            start = Stopwatch.GetTimestamp();
            for (int step = 0; step < 20; step++)
            {
                Backward<Lanes512>(1);
            }

            times[1].Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds / 20);
            same &= weightGradients[0].AsSpan().SequenceEqual(weightGradients[1]) && inputGradients[0].AsSpan().SequenceEqual(inputGradients[1]);
        }

        double narrow = times[0].Order().ElementAt(20), wide = times[1].Order().ElementAt(20);
        Console.WriteLine(string.Create(
            System.Globalization.CultureInfo.InvariantCulture,
            $"backward products of one step, one core, batch {Batch}: 256 bits {narrow:F3} ms, 512 bits {wide:F3} ms, {narrow / wide:F2}x; same bits: {same} (load {File.ReadAllText("/proc/loadavg").Trim()})"));
        return same ? 0 : 2;
    }
}
