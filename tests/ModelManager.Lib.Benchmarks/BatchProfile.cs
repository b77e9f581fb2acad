using System.Diagnostics;
using AgeGroupAnomaly.Compute;
using AgeGroupAnomaly.Modeling;

namespace AgeGroupAnomaly.Benchmarks;

/// <summary>
/// <c>--batch-profile</c>: where a batch of 4,080 scores (34 chunks of 120 rows) of the 832 → [256, 128, 64] model spends
/// its time, alternately with plain TorchSharp in one process: the whole kernel call (as the
/// manager makes it), each layer's product on one core over the whole batch (GFLOP/s), and plain
/// TorchSharp's batch forward.
/// </summary>
internal static class BatchProfile
{
    public static int Run()
    {
        const int rowsCount = 4080, dimension = 832;
        var architecture = new ArchitectureInfo(dimension, [256, 128, 64], 0.1);
        var rng = new Random(5);
        ModelWeights weights = RandomModel.Weights(architecture, rng);
        IReadOnlyList<LayerWeights> layers = weights.Layers;
        float[] rows = [.. Enumerable.Range(0, rowsCount * dimension).Select(_ => (float)rng.NextDouble())];
        var kernel = new InferenceKernel(weights);
        using var helper = new SecondCore();
        var twoCores = new InferenceKernel(weights) { SecondCore = helper };
        float[][] packed = [.. architecture.Layers.Select((l, i) => InferenceProducts.Pack(layers[i].Weight, l.OutputSize, l.InputSize, InferenceProducts.ActivePanelWidth))];
        var errors = new double[rowsCount];
        double macsPerRow = architecture.Layers.Sum(l => (double)l.InputSize * l.OutputSize);
        Console.WriteLine($"SIMD path {SimdPaths.Active}; {macsPerRow * 2 / 1e6:F3} MFLOP per row; load {File.ReadAllText("/proc/loadavg").Trim()}");

        using var plain = new PlainTorchSharp(dimension, [256, 128, 64]);
        var kernelTimes = new List<double>();
        var helperTimes = new List<double>();
        var oneCoreTimes = new List<double>();
        var torchTimes = new List<double>();
        var layerTimes = architecture.Layers.Select(_ => new List<double>()).ToArray();
        float[] a = new float[rowsCount * 832], b = new float[rowsCount * 832];
        PlainTorchSharp.OneThread(() =>
        {
            for (int round = 0; round < 7; round++)
            {
                long start = Stopwatch.GetTimestamp();
                kernel.ReconstructionLosses(rows, errors);
                kernelTimes.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                start = Stopwatch.GetTimestamp();
                twoCores.ReconstructionLosses(rows, errors);
                helperTimes.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                start = Stopwatch.GetTimestamp();
                for (int chunk = 0; chunk < rowsCount; chunk += 120)
                {
                    kernel.ReconstructionLosses(rows.AsSpan(chunk * dimension, 120 * dimension), errors.AsSpan(chunk, 120));
                }

                oneCoreTimes.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                start = Stopwatch.GetTimestamp();
                plain.ScoreBatch(rows);
                torchTimes.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                float[] current = rows;
                for (int l = 0; l < layers.Count; l++)
                {
                    LinearLayerShape shape = architecture.Layers[l];
                    float[] target = l % 2 == 0 ? a : b;
                    start = Stopwatch.GetTimestamp();
                    for (int chunk = 0; chunk < rowsCount; chunk += 120)
                    {
                        InferenceProducts.Rows(current.AsSpan(chunk * shape.InputSize), shape.InputSize, packed[l], layers[l].Bias, target.AsSpan(chunk * shape.OutputSize), shape.OutputSize, 120, shape.InputSize, shape.OutputSize);
                    }

                    layerTimes[l].Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                    current = target;
                }
            }

            return 0;
        });

        double Med(List<double> v) => v.OrderBy(x => x).ElementAt(v.Count / 2);
        Console.WriteLine($"kernel (as the manager calls it): {Med(kernelTimes):F2} ms = {rowsCount / Med(kernelTimes) * 1000:F0} rows/s = {macsPerRow * 2 * rowsCount / Med(kernelTimes) / 1e6:F1} GFLOP/s");
        Console.WriteLine($"kernel with the manager's helper thread: {Med(helperTimes):F2} ms = {rowsCount / Med(helperTimes) * 1000:F0} rows/s = {macsPerRow * 2 * rowsCount / Med(helperTimes) / 1e6:F1} GFLOP/s");
        Console.WriteLine($"kernel on one core (chunks of 120 rows): {Med(oneCoreTimes):F2} ms = {rowsCount / Med(oneCoreTimes) * 1000:F0} rows/s = {macsPerRow * 2 * rowsCount / Med(oneCoreTimes) / 1e6:F1} GFLOP/s");
        Console.WriteLine($"plain TorchSharp: {Med(torchTimes):F2} ms = {rowsCount / Med(torchTimes) * 1000:F0} rows/s = {macsPerRow * 2 * rowsCount / Med(torchTimes) / 1e6:F1} GFLOP/s");
        double total = 0;
        for (int l = 0; l < layers.Count; l++)
        {
            LinearLayerShape shape = architecture.Layers[l];
            double ms = Med(layerTimes[l]);
            total += ms;
            Console.WriteLine($"layer {l} {shape.InputSize}->{shape.OutputSize}, one core, {rowsCount} rows in chunks of 120: {ms:F2} ms = {2.0 * shape.InputSize * shape.OutputSize * rowsCount / ms / 1e6:F1} GFLOP/s");
        }

        Console.WriteLine($"all layers one core: {total:F2} ms = {macsPerRow * 2 * rowsCount / total / 1e6:F1} GFLOP/s");
        return 0;
    }
}
