using System.Text.Json;
using SamCluster.Messages;
using Xunit;

namespace SamCluster.Tests.Grid;

/// <summary>A data selection compares by value, its class list included, so it keys the nodes' data cache and the data
/// check's deduplication as it is; its JSON (journaled, in run.json) stays what it was.</summary>
public class DataSpecEqualityTests
{
    static DataSpec Spec(params string[] classes) => new("fashion-mnist", "/data", classes.ToList(), TrainLimit: 100);

    [Fact]
    public void Same_values_in_other_lists_are_equal_with_equal_hashes()
    {
        Assert.Equal(Spec("0", "1"), Spec("0", "1"));
        Assert.Equal(Spec("0", "1").GetHashCode(), Spec("0", "1").GetHashCode());
        Assert.Single(new[] { Spec("0", "1"), Spec("0", "1") }.Distinct());
        var roundTripped = JsonSerializer.Deserialize<DataSpec>(JsonSerializer.Serialize(Spec("0", "1")));
        Assert.Equal(Spec("0", "1"), roundTripped);
    }

    [Fact]
    public void Other_classes_order_or_fields_differ()
    {
        Assert.NotEqual(Spec("0", "1"), Spec("1", "0"));
        Assert.NotEqual(Spec("0", "1"), Spec("0"));
        Assert.NotEqual(Spec("0", "1"), Spec("0", "1") with { CacheDir = "/cache" });
        Assert.NotEqual(Spec("0", "1"), Spec("0", "1") with { ImageSize = 32 });
    }

    [Fact]
    public void Json_shape_is_unchanged()
    {
        Assert.Equal("""{"Dataset":"fashion-mnist","Root":"/data","Classes":["0","1"],"TrainLimit":100,"TestLimit":0,"ImageSize":28,"TestPerClass":36,"SplitSeed":0,"CacheDir":null}""",
            JsonSerializer.Serialize(Spec("0", "1")));
    }
}
