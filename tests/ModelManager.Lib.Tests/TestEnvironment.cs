using System.Reflection;

namespace AgeGroupAnomaly.Tests;

/// <summary>Build-time facts baked into the test assembly and a per-test temporary folder helper.</summary>
internal static class TestEnvironment
{
    public static string NuGetPackageRoot => Metadata("NuGetPackageRoot");

    public static string RepositoryRoot => Metadata("RepositoryRoot");

    public static string Configuration => Metadata("Configuration");

    /// <summary>The built output of a program in this repository, for example samples/QuickStart/QuickStart.dll.</summary>
    public static string ProgramPath(string projectDirectory, string assemblyName) =>
        Path.Combine(RepositoryRoot, projectDirectory, "bin", Configuration, "net10.0", assemblyName + ".dll");

    /// <summary>Runs a built program with dotnet and returns its exit code and output.</summary>
    public static (int ExitCode, string StandardOutput, string StandardError) RunProgram(string dll, string workingDirectory, params string[] arguments)
    {
        var start = new System.Diagnostics.ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout, stderr.Result);
    }

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
