using SamCluster.Messages;
using SamCluster.Training;
using TorchSharp;
using Xunit;

namespace SamCluster.Tests.Training;

[Collection(TorchGlobalState.Name)]
public class DeviceTests
{
    [Theory]
    [InlineData("cpu", DeviceType.CPU, -1)]
    [InlineData("cuda", DeviceType.CUDA, 0)]
    [InlineData("cuda:3", DeviceType.CUDA, 3)]
    [InlineData(" CUDA:1 ", DeviceType.CUDA, 1)]
    public void ParsesDeviceStrings(string text, DeviceType type, int index)
    {
        Assert.Equal((type, index), TrainingDevice.ParseSyntax(text));
    }

    [Theory]
    [InlineData("")]
    [InlineData("gpu")]
    [InlineData("cpu:0")]
    [InlineData("cuda:")]
    [InlineData("cuda:x")]
    public void RejectsGarbage(string text)
    {
        var error = Assert.Throws<UserInputException>(() => TrainingDevice.ParseSyntax(text));
        Assert.Contains($"'{text}'", error.Message);
    }

    [Fact]
    public void CpuResolves() => Assert.Equal(DeviceType.CPU, TrainingDevice.Resolve("cpu").type);

    [SkippableFact]
    public void MissingCudaDeviceIsAUserError()
    {
        Skip.If(torch.cuda.is_available() && torch.cuda.device_count() > 7, "this machine has a cuda:7, so it is not missing");
        var error = Assert.Throws<UserInputException>(() => TrainingDevice.Resolve("cuda:7"));
        Assert.Contains("cuda:7", error.Message);
    }

    [Fact]
    public void LibTorchFolderWithoutLibrariesIsAUserError()
    {
        var empty = Directory.CreateTempSubdirectory("samcluster-libtorch-").FullName;
        try
        {
            // As on a build without bundled libtorch (on this one the folder is refused before its files are looked at).
            var error = Assert.Throws<UserInputException>(() => TorchRuntime.CheckChoice(empty, bundled: null));
            Assert.Contains("libc10.so", error.Message);
        }
        finally
        {
            Directory.Delete(empty);
        }
    }

    [Fact]
    public void A_libtorch_folder_on_a_build_that_bundles_one_is_refused_naming_the_builds_that_take_it()
    {
        // Before the folder is even checked: a second libtorch in the process aborts it, whatever the folder holds.
        var error = Assert.Throws<UserInputException>(() => TorchRuntime.CheckChoice("/no/such/libtorch", bundled: "/opt/samcluster/runtimes/linux-x64/native"));
        Assert.Contains("--libtorch /no/such/libtorch", error.Message);
        Assert.Contains("bundles libtorch (/opt/samcluster/runtimes/linux-x64/native)", error.Message);
        Assert.Contains("deploy/gpu/package.sh", error.Message);
        Assert.Contains("-p:TorchBackend=external", error.Message);
        Assert.DoesNotContain("\n", error.Message);
    }

    [Fact]
    public void A_build_without_libtorch_needs_a_folder()
    {
        var error = Assert.Throws<UserInputException>(() => TorchRuntime.CheckChoice(null, bundled: null));
        Assert.Contains("--libtorch DIR", error.Message);
    }

    [Fact]
    public void This_test_build_bundles_libtorch_and_knows_its_version()
    {
        Assert.NotNull(TorchRuntime.BundledLibTorch());
        Assert.Equal(PackageVersion("libtorch-cpu-linux-x64"), TorchRuntime.BundledVersion());
        Assert.StartsWith(TorchRuntime.ExpectedLibTorch + ".", TorchRuntime.BundledVersion());
    }

    [Theory]
    [InlineData("torch/lib", "torch/version.py", "__version__ = '2.11.0+cu130'\ndebug = False\n", "2.11.0+cu130")]
    [InlineData("libtorch/lib", "libtorch/build-version", "2.10.0+cu128\n", "2.10.0+cu128")]
    [InlineData("libtorch-cpu-linux-x64/2.10.0/runtimes/linux-x64/native", null, null, "2.10.0")]
    [InlineData("somewhere/lib", null, null, null)]
    public void The_version_of_a_libtorch_folder_is_read_from_beside_it(string libDir, string? file, string? text, string? version)
    {
        var root = Directory.CreateTempSubdirectory("samcluster-libtorch-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(root, libDir));
            if (file is not null) File.WriteAllText(Path.Combine(root, file), text);
            Assert.Equal(version, TorchRuntime.VersionIn(Path.Combine(root, libDir)));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>A package's version in the repository's Directory.Packages.props.</summary>
    static string PackageVersion(string package)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var props = Path.Combine(dir.FullName, "Directory.Packages.props");
            if (!File.Exists(props)) continue;
            var entry = System.Xml.Linq.XDocument.Load(props).Descendants("PackageVersion").Single(e => (string?)e.Attribute("Include") == package);
            return (string)entry.Attribute("Version")!;
        }
        throw new FileNotFoundException("no Directory.Packages.props above the test binaries");
    }
}
