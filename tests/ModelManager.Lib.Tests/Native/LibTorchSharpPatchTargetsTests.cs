using System.Diagnostics;
using System.Security.Cryptography;
using FluentAssertions;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests.Native;

/// <summary>Runs the build targets that ship in the package against copies of the real file.</summary>
[TestFixture]
[NonParallelizable]
public sealed class LibTorchSharpPatchTargetsTests
{
    private const string KnownSha256 = "cf33b1b0bb6bbb9754a768fb5c5d04d9f498603be50e73f55621a0b40ee608b8";

    private string _workDir = null!;

    [SetUp]
    public void SetUp() => _workDir = TestEnvironment.CreateTempDirectory();

    [TearDown]
    public void TearDown() => Directory.Delete(_workDir, recursive: true);

    [Test]
    public void Patch_OfTheKnownFile_ChangesExactlyTheFlagsOfTheGlibcxx3432NeedToWeak()
    {
        string copy = CopyPackagedFile();
        byte[] before = File.ReadAllBytes(copy);
        Sha256(before).Should().Be(KnownSha256, "the test starts from TorchSharp 0.107.0's file");

        string log = RunPatchTask(copy, mode: "true");

        byte[] after = File.ReadAllBytes(copy);
        after.Length.Should().Be(before.Length);
        int[] changed = Enumerable.Range(0, before.Length).Where(i => before[i] != after[i]).ToArray();
        changed.Should().ContainSingle("only the low byte of one vna_flags field may change");
        after[changed[0]].Should().Be((byte)(before[changed[0]] | 0x2));
        log.Should().Contain("weak");
        ReadElfVersionNeed(copy, "GLIBCXX_3.4.32").Should().Contain("Flags: WEAK");
        ReadElfVersionNeed(copy, "GLIBCXX_3.4.30").Should().Contain("Flags: none");
    }

    [Test]
    public void Patch_RunTwice_LeavesTheAlreadyPatchedFileAsItIs()
    {
        string copy = CopyPackagedFile();
        RunPatchTask(copy, mode: "true");
        byte[] once = File.ReadAllBytes(copy);

        RunPatchTask(copy, mode: "true");

        File.ReadAllBytes(copy).Should().Equal(once);
    }

    [Test]
    public void Patch_OfAnUnknownFile_LeavesItUnchangedAndSaysWhy()
    {
        string copy = CopyPackagedFile();
        byte[] altered = File.ReadAllBytes(copy);
        altered[^1] ^= 0xFF; // a different build of the file
        File.WriteAllBytes(copy, altered);

        string log = RunPatchTask(copy, mode: "true");

        File.ReadAllBytes(copy).Should().Equal(altered);
        log.Should().Contain("left").And.Contain("unchanged").And.Contain("SHA-256");
    }

    [Test]
    public void Patch_WithModeFalse_DoesNothing()
    {
        string copy = CopyPackagedFile();

        RunPatchTask(copy, mode: "false");

        Sha256(File.ReadAllBytes(copy)).Should().Be(KnownSha256);
    }

    [Test]
    public void TestOutput_CopyOfLibTorchSharp_IsPatchedWhileThePackageCacheIsNot()
    {
        string output = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

        ReadElfVersionNeed(output, "GLIBCXX_3.4.32").Should().Contain("Flags: WEAK");
        Sha256(File.ReadAllBytes(TestEnvironment.PackagedLibTorchSharp)).Should().Be(KnownSha256);
    }

    private string CopyPackagedFile()
    {
        string copy = Path.Combine(_workDir, "libLibTorchSharp.so");
        File.Copy(TestEnvironment.PackagedLibTorchSharp, copy);
        return copy;
    }

    private string RunPatchTask(string file, string mode)
    {
        string targets = Path.Combine(TestEnvironment.RepositoryRoot, "src", "ModelManager.Lib", "buildTransitive", "ModelManager.Lib.targets");
        string project = Path.Combine(_workDir, "patch.proj");
        File.WriteAllText(project, $"""
            <Project>
              <Import Project="{targets}" />
              <Target Name="Patch">
                <WeakenGlibcxxVersionNeed Files="{file}" Mode="{mode}" />
              </Target>
            </Project>
            """);
        (int exit, string output) = Run("dotnet", $"msbuild \"{project}\" -t:Patch -nologo -v:n -nodeReuse:false");
        exit.Should().Be(0, output);
        return output;
    }

    private static string ReadElfVersionNeed(string file, string version)
    {
        (int exit, string output) = Run("readelf", $"-V \"{file}\"");
        exit.Should().Be(0, output);
        return output.Split('\n').Single(line => line.Contains($"Name: {version} ", StringComparison.Ordinal));
    }

    private static (int Exit, string Output) Run(string fileName, string arguments)
    {
        var start = new ProcessStartInfo(fileName, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(start)!;
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout + stderr.Result);
    }

    private static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}
