using System.Reflection;

namespace AgeGroupAnomaly.Tests;

/// <summary>Build-time facts baked into the test assembly and a per-test temporary folder helper.</summary>
internal static class TestEnvironment
{
    public static string NuGetPackageRoot => Metadata("NuGetPackageRoot");

    public static string RepositoryRoot => Metadata("RepositoryRoot");

    public static string PackagedLibTorchSharp =>
        Path.Combine(NuGetPackageRoot, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

    public static string CreateTempDirectory()
    {
        string path = Path.Combine(Path.GetTempPath(), "mmlib-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }

    private static string Metadata(string key) =>
        typeof(TestEnvironment).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == key).Value!;
}
