using System.Runtime.InteropServices;

namespace AgeGroupAnomaly.Checkpoints;

/// <summary>
/// The type of a file (regular, pipe, device, …) without opening it: .NET reports a named pipe or a
/// device as a normal file, and opening a named pipe blocks until a writer appears. On Linux this
/// asks <c>statx</c> (whose layout is the same on every architecture) without following links;
/// elsewhere the answer is "unknown" and only directories and links are recognised.
/// </summary>
internal static partial class UnixFileType
{
    private const int AtCurrentDirectory = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxType = 0x1;
    private const int StatxModeOffset = 28;
    private const int StatxSize = 256;

    private static bool s_unavailable = !OperatingSystem.IsLinux();

    /// <summary>What the path is when it is not a regular file ("a named pipe", …); null for a regular file or when unknown.</summary>
    public static string? Describe(string path)
    {
        if (Volatile.Read(ref s_unavailable))
        {
            return null;
        }

        int mode;
        try
        {
            mode = Mode(path);
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            Volatile.Write(ref s_unavailable, true); // an old or non-glibc C library: fall back to the managed checks
            return null;
        }

        return mode < 0 ? null : (mode & 0xF000) switch
        {
            0x8000 => null,
            0x1000 => "a named pipe (FIFO)",
            0x2000 => "a character device",
            0x6000 => "a block device",
            0x4000 => "a directory",
            0xA000 => "a symbolic link",
            0xC000 => "a socket",
            _ => "not a regular file",
        };
    }

    /// <summary>The st_mode of the path itself, or −1 when statx fails (the open that follows reports why).</summary>
    private static unsafe int Mode(string path)
    {
        byte* buffer = stackalloc byte[StatxSize];
        return Statx(AtCurrentDirectory, path, AtSymlinkNoFollow, StatxType, buffer) == 0 ? *(ushort*)(buffer + StatxModeOffset) : -1;
    }

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Statx(int directory, string path, int flags, uint mask, byte* buffer);
}
