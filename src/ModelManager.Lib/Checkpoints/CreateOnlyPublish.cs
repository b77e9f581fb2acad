using System.Runtime.InteropServices;

namespace AgeGroupAnomaly.Checkpoints;

/// <summary>
/// Gives a fully written temporary file its final name only if that name does not exist yet, in one
/// step: on Linux and macOS with <c>link(2)</c>, which fails with EEXIST when the name is taken.
/// <see cref="File.Move(string, string, bool)"/> without overwrite can check and rename in two steps
/// there, so two concurrent writers of one checkpoint could both "succeed" (seen under load in CI).
/// Where <c>link</c> is unavailable or refused (another C library, a file system without hard links),
/// it falls back to <see cref="File.Move(string, string, bool)"/>, as on Windows, where that move is one step.
/// </summary>
internal static partial class CreateOnlyPublish
{
    private const int AlreadyExists = 17; // EEXIST on Linux and macOS

    private static bool s_linkUnavailable = !(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS());

    /// <summary>Moves <paramref name="temporary"/> to <paramref name="final"/>; throws <see cref="IOException"/> when <paramref name="final"/> exists.</summary>
    public static void Move(string temporary, string final)
    {
        if (!Volatile.Read(ref s_linkUnavailable))
        {
            int result;
            try
            {
                result = Link(temporary, final);
            }
            catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
            {
                Volatile.Write(ref s_linkUnavailable, true);
                result = -1;
            }

            if (result == 0)
            {
                File.Delete(temporary);
                return;
            }

            if (!Volatile.Read(ref s_linkUnavailable) && Marshal.GetLastPInvokeError() == AlreadyExists)
            {
                throw new IOException($"The file '{final}' already exists.");
            }
        }

        File.Move(temporary, final, overwrite: false);
    }

    [LibraryImport("libc", EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Link(string oldPath, string newPath);
}
