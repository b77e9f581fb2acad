using AgeGroupAnomaly.Benchmarks;
using BenchmarkDotNet.Running;

// --quick [--compare] [--smoke]: one JSON line of headline figures measured in this run, led by the
// comparison with a plain TorchSharp program (--compare: that comparison alone).
// --scoring-process DB CHECKPOINTS ROWS: the scoring-only child the quick mode measures.
// --native-load-check CHECKPOINTS: trains and scores on the CPU, says whether libtorch was mapped (tests).
// --quality [--smoke] [--out FILE]: detection quality on real data sets against classical detectors (Quality/README.md).
// --manager-single-profile: single-score p50 through the manager against its kernel alone, alternated.
// --kernel-latency: single-score p50 straight through the kernel on this process's SIMD path.
// --backward-widths: a training step's backward products at 256 and 512 bits, alternated (AVX-512 only).
// --scalar-peak: the scalar path's single-row product on an L1-resident layer: its compute floor for one score.
// --concurrent-scoring: 1-8 threads scoring at once, with and without the scoring helper thread.
// --manager-batch-profile: a batch of 4,096 through the manager against its kernel alone.
// --batch-profile: where a batch of 4,096 scores spends its time, beside plain TorchSharp.
// --explain-cost: single-score time with and without ScoreResult.TopFeatures.
// --telemetry-cost: single-score time with no metrics/trace listener and with one attached.
// Anything else goes to BenchmarkDotNet (for example --filter '*').
if (args.Length > 0 && args[0] == "--scoring-process")
{
    return await QuickMode.ScoringProcessAsync(args[1], args[2], int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture));
}

if (args.Length > 1 && args[0] == "--native-load-check")
{
    return await NativeLoadCheck.RunAsync(args[1]);
}

if (args.Contains("--quality"))
{
    return await AgeGroupAnomaly.Benchmarks.Quality.QualityMode.RunAsync(args);
}

if (args.Length > 0 && args[0] == "--backward-widths")
{
    return BackwardWidths.Run();
}

if (args.Length > 0 && args[0] == "--scalar-peak")
{
    return ScalarPeak.Run();
}

if (args.Length > 0 && args[0] == "--kernel-latency")
{
    return KernelLatency.Run();
}

if (args.Length > 0 && args[0] == "--concurrent-scoring")
{
    return ConcurrentScoring.Run();
}

if (args.Length > 0 && args[0] == "--manager-batch-profile")
{
    return await ManagerBatchProfile.RunAsync();
}

if (args.Length > 0 && args[0] == "--manager-single-profile")
{
    return await ManagerSingleProfile.RunAsync();
}

if (args.Length > 0 && args[0] == "--batch-profile")
{
    return BatchProfile.Run();
}

if (args.Length > 0 && args[0] == "--explain-cost")
{
    return await ExplainCost.RunAsync();
}

if (args.Length > 0 && args[0] == "--telemetry-cost")
{
    return await TelemetryCost.RunAsync();
}

if (args.Contains("--quick"))
{
    return await QuickMode.RunAsync(args);
}

BenchmarkSwitcher.FromAssembly(typeof(QuickMode).Assembly).Run(args);
return 0;
