// MSBuild task: marks one ELF version-need entry (e.g. GLIBCXX_3.4.32) weak in copies of a native library,
// so the dynamic loader accepts a host libstdc++ that lacks that version. TorchSharp 0.107's libLibTorchSharp.so
// needs GLIBCXX_3.4.32 only for GCC 13's dummy std::ios_base_library_init reference; Debian 12 stops at 3.4.30.
// Only output copies are rewritten (write-to-temp then rename), never the NuGet cache.
using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public class WeakenVersionNeed : Task
{
    [Required] public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();
    [Required] public string VersionName { get; set; } = "";

    const ushort VerFlagWeak = 0x2;
    const uint ShtGnuVerneed = 0x6ffffffe;

    public override bool Execute()
    {
        if (!System.Runtime.InteropServices.RuntimeInformation.IsOSPlatform(System.Runtime.InteropServices.OSPlatform.Linux) || HostProvides(VersionName)) return true;
        foreach (var item in Files)
        {
            var path = item.ItemSpec;
            if (!File.Exists(path)) continue;
            var bytes = File.ReadAllBytes(path);
            var result = Patch(bytes, VersionName);
            if (result == PatchResult.Patched)
            {
                var tmp = path + ".weak-tmp";
                File.WriteAllBytes(tmp, bytes);
                File.Delete(path);   // a new file, so a hard link into the NuGet cache is broken, never written through
                File.Move(tmp, path);
                Log.LogMessage(MessageImportance.High, $"samcluster: host libstdc++ lacks {VersionName}; marked it weak in {path}");
            }
        }
        return !Log.HasLoggedErrors;
    }

    enum PatchResult { Patched, AlreadyWeak, NotNeeded }

    /// True when the host's libstdc++ already defines the version, so no copy needs changing.
    static bool HostProvides(string version)
    {
        var needle = Encoding.ASCII.GetBytes(version + "\0");
        foreach (var lib in HostLibstdcxx())
        {
            try { if (IndexOf(File.ReadAllBytes(lib), needle) >= 0) return true; } catch (IOException) { }
        }
        return false;
    }

    static string[] HostLibstdcxx()
    {
        var found = new System.Collections.Generic.List<string>();
        try
        {
            var psi = new ProcessStartInfo(File.Exists("/sbin/ldconfig") ? "/sbin/ldconfig" : "ldconfig", "-p")
            { RedirectStandardOutput = true, UseShellExecute = false };
            using var p = Process.Start(psi)!;
            foreach (var line in p.StandardOutput.ReadToEnd().Split('\n'))
                if (line.Contains("libstdc++.so.6") && line.Contains("x86-64") && line.Contains("=>"))
                    found.Add(line.Substring(line.IndexOf("=>") + 2).Trim());
            p.WaitForExit();
        }
        catch (Exception) { }
        foreach (var p in new[] { "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6" })
            if (File.Exists(p)) found.Add(p);
        return found.Distinct().ToArray();
    }

    static PatchResult Patch(byte[] elf, string version)
    {
        // ELF64 little-endian only (linux-x64 is the only target with this problem).
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[4] != 2 || elf[5] != 1) return PatchResult.NotNeeded;
        ulong shoff = BitConverter.ToUInt64(elf, 0x28);
        int shentsize = BitConverter.ToUInt16(elf, 0x3A), shnum = BitConverter.ToUInt16(elf, 0x3C);
        for (int i = 0; i < shnum; i++)
        {
            int sh = checked((int)shoff + i * shentsize);
            if (BitConverter.ToUInt32(elf, sh + 4) != ShtGnuVerneed) continue;
            int offset = (int)BitConverter.ToUInt64(elf, sh + 0x18);
            int link = (int)BitConverter.ToUInt32(elf, sh + 0x28);
            int strtab = (int)BitConverter.ToUInt64(elf, checked((int)shoff + link * shentsize) + 0x18);
            int need = offset;
            while (true)
            {
                int count = BitConverter.ToUInt16(elf, need + 2);
                int aux = need + (int)BitConverter.ToUInt32(elf, need + 8);
                for (int k = 0; k < count; k++)
                {
                    int name = strtab + (int)BitConverter.ToUInt32(elf, aux + 8);
                    int end = Array.IndexOf(elf, (byte)0, name);
                    if (Encoding.ASCII.GetString(elf, name, end - name) == version)
                    {
                        ushort flags = BitConverter.ToUInt16(elf, aux + 4);
                        if ((flags & VerFlagWeak) != 0) return PatchResult.AlreadyWeak;
                        BitConverter.GetBytes((ushort)(flags | VerFlagWeak)).CopyTo(elf, aux + 4);
                        return PatchResult.Patched;
                    }
                    aux += (int)BitConverter.ToUInt32(elf, aux + 12);
                }
                uint next = BitConverter.ToUInt32(elf, need + 12);
                if (next == 0) break;
                need += (int)next;
            }
        }
        return PatchResult.NotNeeded;
    }

    static int IndexOf(byte[] haystack, byte[] needle)
    {
        for (int i = 0; i + needle.Length <= haystack.Length; i++)
        {
            if (haystack[i] != needle[0]) continue;
            int k = 1;
            while (k < needle.Length && haystack[i + k] == needle[k]) k++;
            if (k == needle.Length) return i;
        }
        return -1;
    }
}
