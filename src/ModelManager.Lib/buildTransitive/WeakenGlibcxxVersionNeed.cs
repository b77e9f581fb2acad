// Compiled by MSBuild's RoslynCodeTaskFactory (netstandard2.0 surface): keep to plain APIs.
using System;
using System.IO;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

/// <summary>
/// Marks the GLIBCXX_3.4.32 version need of TorchSharp 0.107.0's libLibTorchSharp.so as WEAK.
/// Exactly one ELF field changes: the vna_flags of that one Vernaux entry in .gnu.version_r.
/// Only the file with the known SHA-256 is changed; anything else is left alone with a message.
/// </summary>
public sealed class WeakenGlibcxxVersionNeed : Task
{
    private const string KnownSha256 = "cf33b1b0bb6bbb9754a768fb5c5d04d9f498603be50e73f55621a0b40ee608b8";
    private const string VersionName = "GLIBCXX_3.4.32";
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const byte VerFlagWeak = 0x2;

    private static readonly string[] LibStdCxxCandidates =
    {
        "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
        "/lib/x86_64-linux-gnu/libstdc++.so.6",
        "/usr/lib64/libstdc++.so.6",
        "/lib64/libstdc++.so.6",
        "/usr/lib/libstdc++.so.6",
    };

    [Required]
    public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>auto (default), true or false.</summary>
    public string Mode { get; set; } = "auto";

    public override bool Execute()
    {
        string mode = string.IsNullOrWhiteSpace(Mode) ? "auto" : Mode.Trim().ToLowerInvariant();
        if (mode == "false")
        {
            return true;
        }

        if (mode != "true" && mode != "auto")
        {
            Log.LogError("ModelManagerPatchLibTorchSharp must be auto, true or false, not '{0}'.", Mode);
            return false;
        }

        if (mode == "auto")
        {
            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
            {
                Log.LogMessage(MessageImportance.Low, "ModelManager.Lib: not building on Linux; libLibTorchSharp.so left as shipped.");
                return true;
            }

            string provider = FindLibStdCxxWithVersion();
            if (provider != null)
            {
                Log.LogMessage(MessageImportance.Low, "ModelManager.Lib: {0} provides {1}; libLibTorchSharp.so left as shipped.", provider, VersionName);
                return true;
            }
        }

        foreach (ITaskItem item in Files)
        {
            PatchFile(item.GetMetadata("FullPath"));
        }

        return !Log.HasLoggedErrors;
    }

    private void PatchFile(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        string sha = Sha256Hex(bytes);
        int flagsOffset = FindVersionNeedFlagsOffset(bytes, VersionName);

        if (sha == KnownSha256)
        {
            if (flagsOffset < 0)
            {
                Log.LogWarning("ModelManager.Lib: {0} has the known SHA-256 but no {1} version need; left unchanged.", path, VersionName);
                return;
            }

            DateTime lastWrite = File.GetLastWriteTimeUtc(path);
            bytes[flagsOffset] |= VerFlagWeak;

            // Write beside the target and rename over it: a crash never leaves a half file, and a
            // hard link into the NuGet cache (CreateHardLinksForCopyLocalIfPossible) is replaced,
            // not written through.
            string temp = path + ".mmpatch.tmp";
            File.WriteAllBytes(temp, bytes);
            File.Replace(temp, path, null);

            // Keep the original time stamp so incremental builds see the copy as up to date.
            File.SetLastWriteTimeUtc(path, lastWrite);
            Log.LogMessage(MessageImportance.High, "ModelManager.Lib: marked the {0} version need of {1} weak so TorchSharp loads with this system's libstdc++.", VersionName, path);
            return;
        }

        if (flagsOffset >= 0 && (bytes[flagsOffset] & VerFlagWeak) != 0)
        {
            bytes[flagsOffset] &= unchecked((byte)~VerFlagWeak);
            if (Sha256Hex(bytes) == KnownSha256)
            {
                Log.LogMessage(MessageImportance.Low, "ModelManager.Lib: {0} is already patched.", path);
                return;
            }
        }

        Log.LogMessage(MessageImportance.High, "ModelManager.Lib: left {0} unchanged: its SHA-256 {1} is not that of TorchSharp 0.107.0's libLibTorchSharp.so ({2}), and only that file is known to need and tolerate the fix.", path, sha, KnownSha256);
    }

    private static string FindLibStdCxxWithVersion()
    {
        byte[] needle = System.Text.Encoding.ASCII.GetBytes(VersionName + "\0");
        foreach (string candidate in LibStdCxxCandidates)
        {
            if (File.Exists(candidate) && IndexOf(File.ReadAllBytes(candidate), needle) >= 0)
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>Offset of vna_flags of the Vernaux entry named <paramref name="name"/>, or -1.</summary>
    private static int FindVersionNeedFlagsOffset(byte[] elf, string name)
    {
        try
        {
            return FindVersionNeedFlagsOffsetUnchecked(elf, name);
        }
        catch (IndexOutOfRangeException)
        {
            return -1; // not a well-formed ELF file: treated as "unknown file"
        }
    }

    private static int FindVersionNeedFlagsOffsetUnchecked(byte[] elf, string name)
    {
        // ELF64 little-endian only: that is the only flavour TorchSharp ships for Linux x64.
        if (elf.Length < 64 || elf[0] != 0x7F || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F' || elf[4] != 2 || elf[5] != 1)
        {
            return -1;
        }

        long shoff = (long)U64(elf, 0x28);
        int shentsize = U16(elf, 0x3A);
        int shnum = U16(elf, 0x3C);
        for (int i = 0; i < shnum; i++)
        {
            long sh = shoff + ((long)i * shentsize);
            if (sh < 0 || sh + 64 > elf.Length || U32(elf, sh + 4) != ShtGnuVerneed)
            {
                continue;
            }

            long sectionOffset = (long)U64(elf, sh + 0x18);
            uint link = U32(elf, sh + 0x28);
            uint count = U32(elf, sh + 0x2C);
            long strtab = (long)U64(elf, shoff + ((long)link * shentsize) + 0x18);

            long vn = sectionOffset;
            for (uint n = 0; n < count && vn + 16 <= elf.Length; n++)
            {
                int auxCount = U16(elf, vn + 2);
                long aux = vn + U32(elf, vn + 8);
                for (int a = 0; a < auxCount && aux + 16 <= elf.Length; a++)
                {
                    if (CStringEquals(elf, strtab + U32(elf, aux + 8), name))
                    {
                        return (int)(aux + 4);
                    }

                    aux += U32(elf, aux + 12);
                }

                uint next = U32(elf, vn + 12);
                if (next == 0)
                {
                    break;
                }

                vn += next;
            }
        }

        return -1;
    }

    private static bool CStringEquals(byte[] data, long offset, string value)
    {
        if (offset < 0 || offset + value.Length >= data.Length)
        {
            return false;
        }

        for (int i = 0; i < value.Length; i++)
        {
            if (data[offset + i] != (byte)value[i])
            {
                return false;
            }
        }

        return data[offset + value.Length] == 0;
    }

    private static int IndexOf(byte[] haystack, byte[] needle)
    {
        for (int i = 0; i <= haystack.Length - needle.Length; i++)
        {
            int j = 0;
            while (j < needle.Length && haystack[i + j] == needle[j])
            {
                j++;
            }

            if (j == needle.Length)
            {
                return i;
            }
        }

        return -1;
    }

    private static ushort U16(byte[] b, long o) => (ushort)(b[o] | (b[o + 1] << 8));

    private static uint U32(byte[] b, long o) => (uint)(b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24));

    private static ulong U64(byte[] b, long o) => U32(b, o) | ((ulong)U32(b, o + 4) << 32);

    private static string Sha256Hex(byte[] bytes)
    {
        using (SHA256 sha = SHA256.Create())
        {
            return BitConverter.ToString(sha.ComputeHash(bytes)).Replace("-", string.Empty).ToLowerInvariant();
        }
    }
}
