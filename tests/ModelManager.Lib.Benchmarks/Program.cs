using AgeGroupAnomaly.Benchmarks;
using BenchmarkDotNet.Running;

// --quick: one JSON line of headline figures measured in this run; otherwise BenchmarkDotNet.
if (args.Contains("--quick"))
{
    return QuickMode.Run(args);
}

BenchmarkSwitcher.FromAssembly(typeof(QuickMode).Assembly).Run(args);
return 0;
