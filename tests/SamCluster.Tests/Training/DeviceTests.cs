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
            var error = Assert.Throws<UserInputException>(() => TorchRuntime.Initialize(empty));
            Assert.Contains("libc10.so", error.Message);
        }
        finally
        {
            Directory.Delete(empty);
        }
    }
}
