using SamCluster.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SamCluster.Tests.Training;

/// <summary>Tiny random images (28×28 unless told) with 5 classes (by default 48 train, 16 test images), the same for a
/// seed: enough for a few quick epochs whose figures tests compare exactly.</summary>
static class SyntheticTensors
{
    public static TrainingTensors Make(long seed, int train = 48, int test = 16, float std = 0.3f, int size = 28)
    {
        var generator = new Generator((ulong)seed, CPU);
        return new TrainingTensors(
            randint(0, 256, [train, 1, size, size], ScalarType.Byte, generator: generator),
            randint(0, 5, [train], ScalarType.Int64, generator: generator),
            randint(0, 256, [test, 1, size, size], ScalarType.Byte, generator: generator),
            randint(0, 5, [test], ScalarType.Int64, generator: generator),
            [0.5f], [std], Classes: 5);
    }
}
