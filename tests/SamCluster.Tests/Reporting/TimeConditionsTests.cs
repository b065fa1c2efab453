using System.Text.Json;
using SamCluster.Messages;
using SamCluster.Reporting;
using Xunit;

namespace SamCluster.Tests.Reporting;

/// <summary>Comparable time (issue 27, point 4): each trial records its device's model, its node's threads and trials at
/// once; the report compares times only on one device kind, from images per second where trials have them, and says
/// when the trials compared ran under different conditions. trials.csv without these columns reads as before.</summary>
public class TimeConditionsTests
{
    static TrialResultRow Trial(string optimizer, int repeat, double seconds, string device = "cpu", string? model = "Xeon",
        int? threads = 4, int? concurrent = 1, double? imagesPerSecond = null, string node = "n1") =>
        new("d", "m", optimizer, repeat, true, 99, 90 + repeat, seconds, 3, null, 0)
        {
            Node = node, Device = device, DeviceModel = model, Threads = threads, Concurrent = concurrent, ImagesPerSecond = imagesPerSecond,
        };

    static Report Build(IEnumerable<TrialResultRow> rows) => ReportBuilder.Build(rows.ToList(), new ReportOptions(Curves: false));

    [Fact]
    public void Times_on_other_device_kinds_are_left_out_of_the_ratio_and_said_so()
    {
        // SGD 100 s on the CPU; SAM 180 s on the CPU, and 20 s on a GPU that must not pull its mean down.
        List<TrialResultRow> rows =
        [
            Trial("sgd", 0, 100), Trial("sgd", 1, 100),
            Trial("sam", 0, 180), Trial("sam", 1, 180), Trial("sam", 2, 20, device: "cuda:0", model: "H100"),
        ];
        var group = Build(rows).Groups[0];
        var sam = group.ComparisonOf("sam")!;
        Assert.Equal(1.8, sam.TimeRatio!.Value, 12);
        Assert.Equal("seconds on cpu (Xeon)", sam.TimeBasis);
        Assert.Contains("sam vs sgd: time ratio from the trials on cpu (Xeon) only (2 of 3 sam, 2 of 2 sgd trials)", group.Notes);
        Assert.False(sam.TimeConditionsDiffer);
    }

    [Fact]
    public void Arms_on_different_device_kinds_have_no_time_ratio_and_the_report_says_why()
    {
        List<TrialResultRow> rows =
        [
            Trial("sgd", 0, 100), Trial("sgd", 1, 100),
            Trial("sam", 0, 20, device: "cuda:0", model: "H100"), Trial("sam", 1, 20, device: "cuda:1", model: "H100"),
        ];
        var report = Build(rows);
        var sam = report.Groups[0].ComparisonOf("sam")!;
        Assert.Null(sam.TimeRatio);
        Assert.Contains("sam vs sgd: no time ratio: sam ran only on cuda (H100), sgd only on cpu (Xeon); times on different device kinds are not compared",
            report.Groups[0].Notes);
        Assert.Contains("; no time ratio (sam ran only on cuda (H100), sgd only on cpu (Xeon)).", MarkdownReport.Write(report));
    }

    [Fact]
    public void Trials_that_do_not_name_their_model_share_a_kind_by_device_type()
    {
        // SGD from nodes of an older version (no model), SAM from this one: both ran on the CPU.
        List<TrialResultRow> rows =
        [
            Trial("sgd", 0, 100, model: null), Trial("sgd", 1, 100, model: null),
            Trial("sam", 0, 180), Trial("sam", 1, 180),
        ];
        var sam = Build(rows).Groups[0].ComparisonOf("sam")!;
        Assert.Equal(1.8, sam.TimeRatio!.Value, 12);
        Assert.Equal("seconds on cpu", sam.TimeBasis);
    }

    [Fact]
    public void The_ratio_comes_from_images_per_second_where_every_trial_has_them()
    {
        // Seconds say 2.0, throughput says 1.5 (SAM's seconds include a slow evaluation here): throughput wins.
        List<TrialResultRow> rows =
        [
            Trial("sgd", 0, 100, imagesPerSecond: 300), Trial("sgd", 1, 100, imagesPerSecond: 300),
            Trial("sam", 0, 200, imagesPerSecond: 200), Trial("sam", 1, 200, imagesPerSecond: 200),
        ];
        var sam = Build(rows).Groups[0].ComparisonOf("sam")!;
        Assert.Equal(1.5, sam.TimeRatio!.Value, 12);
        Assert.Equal("images per second on cpu (Xeon)", sam.TimeBasis);
    }

    [Fact]
    public void Different_threads_or_trials_at_once_are_said_and_flagged_in_json()
    {
        List<TrialResultRow> rows =
        [
            Trial("sgd", 0, 100), Trial("sgd", 1, 40, threads: 2, concurrent: 2, node: "n2"),
            Trial("sam", 0, 180), Trial("sam", 1, 180),
        ];
        var report = Build(rows);
        var sam = report.Groups[0].ComparisonOf("sam")!;
        Assert.True(sam.TimeConditionsDiffer);
        Assert.Contains("sam vs sgd: times measured under different conditions: sam with 4 threads, 1 at once (2 trials); " +
                        "sgd with 2 threads, 2 at once (1 trial) and 4 threads, 1 at once (1 trial)", report.Groups[0].Notes);
        using var json = JsonDocument.Parse(JsonReport.Write(report));
        var comparison = json.RootElement[0].GetProperty("comparisons")[0];
        Assert.True(comparison.GetProperty("time_conditions_differ").GetBoolean());
        Assert.Equal("seconds on cpu (Xeon)", comparison.GetProperty("time_basis").GetString());
        Assert.True(json.RootElement[0].TryGetProperty("time_ratio", out _));

        // The same conditions everywhere: false, and nothing said.
        var alike = Build(rows.Select(r => r with { Threads = 4, Concurrent = 1 })).Groups[0];
        Assert.False(alike.ComparisonOf("sam")!.TimeConditionsDiffer);
        Assert.DoesNotContain(alike.Notes, n => n.Contains("different conditions"));
    }

    [Fact]
    public void Trials_that_do_not_say_their_conditions_are_compared_as_before()
    {
        var rows = new[] { Trial("sgd", 0, 100), Trial("sgd", 1, 100), Trial("sam", 0, 180), Trial("sam", 1, 180) }
            .Select(r => r with { Threads = null, Concurrent = null, DeviceModel = null }).ToList();
        var sam = Build(rows).Groups[0].ComparisonOf("sam")!;
        Assert.Equal(1.8, sam.TimeRatio!.Value, 12);
        Assert.Equal("seconds on cpu", sam.TimeBasis);
        Assert.Null(sam.TimeConditionsDiffer);
    }

    [Fact]
    public void Trials_csv_gets_the_condition_columns_last_only_when_a_row_has_them_and_reads_them_back()
    {
        TrialResultRow bare = new("d", "m", "sgd", 0, true, 99, 90, 100, 3, null, 0) { Node = "n1", Device = "cpu", Attempts = 1 };
        Assert.EndsWith(",attempts,reason,cell", ResultsCsv.WriteTrials([bare]).Split('\n')[0]);

        var text = ResultsCsv.WriteTrials([bare, Trial("sam", 0, 180, device: "cuda:0", model: "NVIDIA H100", threads: 8, concurrent: 2, imagesPerSecond: 1234.5)]);
        var lines = text.Split('\n');
        Assert.Equal(ResultsCsv.TrialsHeader + ",device_model,threads,concurrent,images_per_second", lines[0]);
        Assert.EndsWith(",,,,", lines[1]);
        Assert.EndsWith(",NVIDIA H100,8,2,1234.5", lines[2]);
        var read = ResultsCsv.ParseTrials(CsvTable.Parse("trials.csv", text));
        Assert.Equal((null, null, null, null), (read[0].DeviceModel, read[0].Threads, read[0].Concurrent, read[0].ImagesPerSecond));
        Assert.Equal(("NVIDIA H100", 8, 2, 1234.5), (read[1].DeviceModel, read[1].Threads!.Value, read[1].Concurrent!.Value, read[1].ImagesPerSecond!.Value));
        Assert.Equal("cuda (NVIDIA H100)", read[1].DeviceKind);
    }

    [Fact]
    public void A_bad_thread_count_in_trials_csv_is_one_line_naming_file_line_and_column()
    {
        var text = ResultsCsv.TrialsHeader + ",threads\nd,m,sgd,0,1,completed,3,99,90,0.1,0.2,100,n1,cpu,1,,,zero\n";
        var e = Assert.Throws<UserInputException>(() => ResultsCsv.ParseTrials(CsvTable.Parse("trials.csv", text)));
        Assert.Contains("trials.csv:2", e.Message);
        Assert.Contains("threads", e.Message);
    }

    [Fact]
    public void A_node_names_a_devices_model_only_when_it_knows_it()
    {
        NodeFacts Facts(params string[] gpus) => new("h", "AMD EPYC 7763", 64, 8, ["cpu"], gpus, null, "0", "lt", 2);
        Assert.Equal("AMD EPYC 7763", Facts().DeviceModel("cpu"));
        Assert.Equal("NVIDIA H100", Facts("NVIDIA H100", "NVIDIA H100").DeviceModel("cuda:1"));
        Assert.Null(Facts("NVIDIA H100", "NVIDIA A100").DeviceModel("cuda:1"));   // which is cuda:1 depends on CUDA's order
        Assert.Null(Facts().DeviceModel("cuda:0"));
        Assert.Equal(new TrialConditions("AMD EPYC 7763", 8, 2), TrialConditions.Of(Facts(), "cpu"));
        Assert.Null(TrialConditions.Of(null, "cpu"));
    }

    [Fact]
    public void Journal_events_and_wire_messages_of_older_versions_still_read_without_conditions()
    {
        // AttemptStarted and StartAttempt as an earlier version wrote them: no Conditions.
        var started = (AttemptStarted)WireFormat.Decode(
            """{"TrialId":"d/m/sgd/1","Attempt":1,"WorkerId":"w0@n1/cpu#1","Node":"n1","Device":"cpu","At":"2026-01-01T00:00:00+00:00"}"""u8.ToArray(), "e-st");
        Assert.Null(started.Conditions);
        var ready = (WorkerReady)WireFormat.Decode(
            """{"WorkerId":"w0","Node":"n1","Device":"cpu","Facts":{"Host":"h","CpuModel":null,"Cores":2,"Threads":2,"Devices":["cpu"],"Gpus":[],"GpuDriver":null,"TorchSharp":"0","LibTorch":"x"}}"""u8.ToArray(), "wr");
        Assert.Null(ready.Facts!.Workers);

        // And this version's round-trip.
        var now = new AttemptStarted("d/m/sgd/1", 1, "w", "n1", "cpu", DateTimeOffset.UnixEpoch, new TrialConditions("Xeon", 4, 2));
        Assert.Equal(now, WireFormat.Decode(WireFormat.Encode(now), "e-st"));
    }
}
