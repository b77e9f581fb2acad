using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests.Import;

/// <summary>
/// Real PyTorch (Debian's python3-torch) through pytorch_models.py: writes seeded state dicts and
/// computes PyTorch's own scores. CI sets MODELMANAGER_PYTORCH_PYTHON (.ci/pytorch), so there the
/// tests must run; a developer without python3-torch gets them ignored with the remedy.
/// </summary>
internal static class PyTorchReference
{
    public const string PythonVariable = "MODELMANAGER_PYTORCH_PYTHON";

    private static readonly Lazy<string?> Found = new(FindPython);

    public static string Script => Path.Combine(TestEnvironment.RepositoryRoot, "tests", "ModelManager.Lib.Tests", "Import", "pytorch_models.py");

    /// <summary>The python with torch, or the test is ignored (failed when CI named one that does not work).</summary>
    public static string Python
    {
        get
        {
            if (Found.Value is { } python)
            {
                return python;
            }

            if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable(PythonVariable)))
            {
                Assert.Fail($"{PythonVariable} is '{Environment.GetEnvironmentVariable(PythonVariable)}' but that python cannot import torch.");
            }

            Assert.Ignore($"python3-torch is not installed: run .ci/pytorch (or apt-get install python3-torch) or set {PythonVariable} to a python with torch, to compare with PyTorch.");
            return null!;
        }
    }

    /// <summary>Writes the state dict of a seeded model of the original architecture.</summary>
    public static void WriteModel(string path, int inputSize, IReadOnlyList<int> hiddenSizes, int seed, bool wrapped = false) =>
        Run("model", path, inputSize.ToString(CultureInfo.InvariantCulture), string.Join(",", hiddenSizes), seed.ToString(CultureInfo.InvariantCulture), wrapped ? "wrapped" : "plain");

    /// <summary>PyTorch's per-sample reconstruction error (float32, eval mode) of every row under the file's model.</summary>
    public static double[] Scores(string modelPath, IReadOnlyList<float[]> rows)
    {
        string folder = Path.GetDirectoryName(modelPath)!;
        string input = Path.Combine(folder, Guid.NewGuid().ToString("N") + ".f32");
        string output = Path.ChangeExtension(input, ".txt");
        File.WriteAllBytes(input, MemoryMarshal.AsBytes(rows.SelectMany(r => r).ToArray().AsSpan()).ToArray()); // little-endian, as frombuffer reads it here
        Run("score", modelPath, input, output);
        return [.. File.ReadAllLines(output).Where(l => l.Length > 0).Select(l => double.Parse(l, CultureInfo.InvariantCulture))];
    }

    private static void Run(params string[] arguments)
    {
        var start = new ProcessStartInfo(Python) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add(Script);
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(start)!;
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            Assert.Fail($"pytorch_models.py {string.Join(' ', arguments)} exited with {process.ExitCode}: {stderr.Result}");
        }
    }

    private static string? FindPython()
    {
        string? named = Environment.GetEnvironmentVariable(PythonVariable);
        string[] candidates = string.IsNullOrEmpty(named) ? ["/usr/bin/python3", "python3"] : [named];
        return candidates.FirstOrDefault(ImportsTorch);
    }

    private static bool ImportsTorch(string python)
    {
        try
        {
            var start = new ProcessStartInfo(python, ["-c", "import torch"]) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            using Process process = Process.Start(start)!;
            process.StandardError.ReadToEnd();
            process.WaitForExit();
            return process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false; // no such program
        }
    }
}
