using System.Runtime.InteropServices;
using System.Text;
using TorchSharp;

namespace AgeGroupAnomaly.Native;

/// <summary>
/// Loads TorchSharp once and turns its generic "doesn't contain a reference to libtorch" failure
/// into <see cref="NativeRuntimeUnavailableException"/> with the real cause and remedy.
/// </summary>
internal static class TorchRuntime
{
    internal const string RequiredGlibcxxVersion = "GLIBCXX_3.4.32";

    private static readonly string[] LibStdCxxCandidates =
    [
        "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
        "/lib/x86_64-linux-gnu/libstdc++.so.6",
        "/usr/lib64/libstdc++.so.6",
        "/lib64/libstdc++.so.6",
        "/usr/lib/libstdc++.so.6",
    ];

    private static readonly Lazy<Exception?> LoadFailure = new(() => TryLoad(ProbeTorch));

    /// <summary>Throws <see cref="NativeRuntimeUnavailableException"/> when TorchSharp cannot run here.</summary>
    public static void EnsureAvailable()
    {
        if (LoadFailure.Value is { } failure)
        {
            throw Explain(failure, SystemLibStdCxxHasRequiredVersion());
        }
    }

    /// <summary>
    /// Whether a CUDA build of libtorch sits beside the application (TorchSharp-cuda-* packages
    /// bring <c>libtorch_cuda</c>); looked up without loading anything.
    /// </summary>
    internal static bool CudaLibraryPresent() => CudaLibrary.Value;

    /// <summary>Loads TorchSharp and asks it for a CUDA device.</summary>
    internal static bool CudaAvailable()
    {
        EnsureAvailable();
        return torch.cuda.is_available();
    }

    private static readonly Lazy<bool> CudaLibrary = new(() =>
    {
        string[] names = ["libtorch_cuda.so", "torch_cuda.dll"];
        string baseDirectory = AppContext.BaseDirectory;
        IEnumerable<string> folders = [baseDirectory, .. Directory.Exists(Path.Combine(baseDirectory, "runtimes"))
            ? Directory.EnumerateDirectories(Path.Combine(baseDirectory, "runtimes")).Select(r => Path.Combine(r, "native"))
            : []];
        return folders.Any(folder => names.Any(name => File.Exists(Path.Combine(folder, name))));
    });

    /// <summary>Runs <paramref name="load"/> and returns what it threw, if anything.</summary>
    internal static Exception? TryLoad(Action load)
    {
        try
        {
            load();
            return null;
        }
#pragma warning disable CA1031 // Any load failure is reported through Explain, with the original as inner exception.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return ex;
        }
    }

    /// <summary>Builds the exception users see for a TorchSharp load failure.</summary>
    internal static NativeRuntimeUnavailableException Explain(Exception failure, bool? libStdCxxHasRequiredVersion)
    {
        var message = new StringBuilder("TorchSharp's native library (libLibTorchSharp.so with libtorch) could not be loaded. ");
        if (libStdCxxHasRequiredVersion == false)
        {
            message.Append("Cause: TorchSharp 0.107.0's libLibTorchSharp.so requires symbol version ")
                .Append(RequiredGlibcxxVersion)
                .Append(" (GCC 13's libstdc++), which this system's libstdc++ lacks (as on Debian 12 and Ubuntu 22.04). ")
                .Append("Remedy: build or publish the application with a PackageReference to ModelManager.Lib so its build targets mark that version need weak in the output copy ")
                .Append("(set the MSBuild property ModelManagerPatchLibTorchSharp=true to force it, for example when publishing on a newer system), ")
                .Append("and run the application from that output folder.");
        }
        else
        {
            message.Append("Cause: the TorchSharp-cpu native files (runtimes/linux-x64/native) were not found or did not load from the application folder. ")
                .Append("Remedy: reference ModelManager.Lib (which brings TorchSharp-cpu) from the application project itself and run it from its build or publish output.");
        }

        message.Append(" Original error: ").Append(Innermost(failure).Message);
        return new NativeRuntimeUnavailableException(message.ToString(), failure);
    }

    /// <summary>True, false, or null when no libstdc++ was found to inspect.</summary>
    internal static bool? SystemLibStdCxxHasRequiredVersion()
    {
        if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
        {
            return null;
        }

        byte[] needle = Encoding.ASCII.GetBytes(RequiredGlibcxxVersion + "\0");
        foreach (string candidate in LibStdCxxCandidates)
        {
            if (File.Exists(candidate))
            {
                return File.ReadAllBytes(candidate).AsSpan().IndexOf(needle) >= 0;
            }
        }

        return null;
    }

    private static void ProbeTorch()
    {
        using var probe = torch.ones(1);
        _ = probe.item<float>();
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null)
        {
            e = e.InnerException;
        }

        return e;
    }
}
