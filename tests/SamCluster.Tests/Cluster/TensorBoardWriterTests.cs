using SamCluster.Coordinator.Lifecycle;
using SamCluster.Coordinator.Observers;
using SamCluster.RunStore;
using SamCluster.Messages;
using Xunit;
using SamCluster.Cli.Composition;

namespace SamCluster.Tests.Cluster;

/// <summary>The TensorBoard event file read back as TensorBoard reads it: TFRecord framing (length, masked CRC-32C of
/// the length, the Event protobuf, masked CRC-32C of the data), every scalar at its epoch.</summary>
public sealed class TensorBoardWriterTests : IDisposable
{
    readonly RunFolder _folder = ClusterFixtures.TempRunFolder();

    [Fact]
    public void Each_journaled_epoch_becomes_scalars_in_one_event_file_per_trial()
    {
        var spec = ClusterFixtures.Trial("sam", 2);
        var writer = new TensorBoardWriter(_folder, TrainingServices.OpenTensorBoard);
        var state = TrialState.New(spec.Key.Id);
        var epochs = new[] { new EpochMetrics(1, 1.25, 55.5, 1.5, 50.25, 0.001, 3.0, 400), new EpochMetrics(2, 0.75, 75.5, 0.875, 70.5, 0.0005, 3.0, 420) };
        var entry = new BoardEntry(spec, state);
        foreach (var epoch in epochs) writer.OnTrialEvent(entry, new EpochRecorded(spec.Key.Id, 1, epoch), [entry]);
        writer.OnTrialEvent(entry, new AttemptAccepted(spec.Key.Id, 1), [entry]);   // not an epoch: nothing written

        var file = Assert.Single(Directory.GetFiles(Path.Combine(_folder.Root, "tensorboard", spec.Key.Id), "events.out.tfevents.*"));
        var events = ReadRecords(File.ReadAllBytes(file)).Select(Tensorboard.Event.Parser.ParseFrom).ToList();
        Assert.Equal("brain.Event:2", events[0].FileVersion);
        var scalars = events.Where(e => e.Summary is not null)
            .SelectMany(e => e.Summary.Value.Select(v => (v.Tag, Step: e.Step, Value: v.SimpleValue, e.WallTime))).ToList();
        Assert.Equal(2 * 6, scalars.Count);
        foreach (var epoch in epochs)
            foreach (var (tag, value) in TensorBoardWriter.Scalars(epoch))
                Assert.Equal((float)value, scalars.Single(s => s.Tag == tag && s.Step == epoch.Epoch).Value);
        Assert.All(scalars, s => Assert.InRange(s.WallTime, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 600, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1));
    }

    /// <summary>TFRecord: u64 length, u32 masked CRC-32C of those 8 bytes, the data, u32 masked CRC-32C of the data.</summary>
    static IEnumerable<byte[]> ReadRecords(byte[] file)
    {
        var at = 0;
        while (at < file.Length)
        {
            var length = BitConverter.ToUInt64(file, at);
            Assert.Equal(MaskedCrc(file.AsSpan(at, 8)), BitConverter.ToUInt32(file, at + 8));
            var data = file.AsSpan(at + 12, (int)length).ToArray();
            Assert.Equal(MaskedCrc(data), BitConverter.ToUInt32(file, at + 12 + (int)length));
            yield return data;
            at += 12 + (int)length + 4;
        }
    }

    static uint MaskedCrc(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (var b in data)
        {
            crc ^= b;
            for (var i = 0; i < 8; i++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78 : crc >> 1;   // Castagnoli, reflected
        }
        crc = ~crc;
        return ((crc >> 15) | (crc << 17)) + 0xa282ead8;
    }

    public void Dispose()
    {
        _folder.Dispose();
        Directory.Delete(_folder.Root, recursive: true);
    }
}
