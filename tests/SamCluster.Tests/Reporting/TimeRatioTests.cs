using System.Globalization;
using System.Text.Json;
using SamCluster.Reporting;
using Xunit;

namespace SamCluster.Tests.Reporting;

/// <summary>Every comparison shows its price (issue 25, point 4): the treatment's mean seconds per completed trial over
/// the control's, in report.md, report.csv and report.json; and a note when the arms' times came from different
/// node/device sets (issue 27).</summary>
public class TimeRatioTests
{
    static TrialResultRow Trial(string optimizer, int repeat, double test, double seconds, bool completed = true,
        string model = "m", string? node = null, string? device = null) =>
        new("d", model, optimizer, repeat, completed, completed ? 99.0 : null, completed ? test : null, seconds, 3,
            completed ? null : "out of memory", 0) { Node = node, Device = device };

    /// <summary>SGD 100 s a trial on average, SAM 179 s (its failed trial's 5 s not counted), ASAM 150 s.</summary>
    static List<TrialResultRow> Rows() =>
    [
        Trial("sgd", 0, 90.0, 100), Trial("sgd", 1, 90.4, 110), Trial("sgd", 2, 89.8, 90),
        Trial("sam", 0, 91.0, 180), Trial("sam", 1, 91.3, 178), Trial("sam", 2, 90.9, 179), Trial("sam", 3, 0, 5, completed: false),
        Trial("asam", 0, 89.0, 140), Trial("asam", 1, 89.5, 160),
    ];

    static Report Build(IEnumerable<TrialResultRow> rows) => ReportBuilder.Build(rows.ToList(), new ReportOptions(Curves: false));

    [Fact]
    public void The_ratio_is_mean_seconds_of_completed_trials_over_the_controls()
    {
        var group = Assert.Single(Build(Rows()).Groups);
        Assert.Equal(1.79, group.ComparisonOf("sam")!.TimeRatio!.Value, 12);
        Assert.Equal(1.5, group.ComparisonOf("asam")!.TimeRatio!.Value, 12);
    }

    [Fact]
    public void Json_has_time_ratio_in_each_comparison_and_flat_for_the_primary_one()
    {
        using var json = JsonDocument.Parse(JsonReport.Write(Build(Rows())));
        var row = json.RootElement[0];
        Assert.Equal(1.79, row.GetProperty("time_ratio").GetDouble(), 12);    // flat: SAM vs SGD, as t, p_value, ...
        var comparisons = row.GetProperty("comparisons").EnumerateArray().ToDictionary(c => c.GetProperty("treatment").GetString()!);
        Assert.Equal(1.79, comparisons["sam"].GetProperty("time_ratio").GetDouble(), 12);
        Assert.Equal(1.5, comparisons["asam"].GetProperty("time_ratio").GetDouble(), 12);
        foreach (var key in new[] { "t", "df", "p_value", "p_holm", "hedges_g", "diff_mean", "diff_ci95", "mde_pp", "n_for_power80" })
            Assert.True(row.TryGetProperty(key, out _), key);                  // nothing taken away
    }

    [Fact]
    public void Csv_adds_the_ratios_after_every_existing_column()
    {
        var text = CsvReport.Write(Build(Rows()));
        var header = text.Split(Environment.NewLine)[0].Split(',');
        var old = new List<string> { "dataset", "model", "epochs" };
        foreach (var o in new[] { "sgd", "sam", "asam" })
            old.AddRange(new[] { "n", "failed", "train_mean", "train_std", "test_mean", "test_std", "seconds_mean", "seconds_std" }.Select(c => $"{o}_{c}"));
        old.AddRange(["test", "alternative", "t", "df", "p_value", "p_holm", "hedges_g", "diff_mean", "diff_ci95_lo", "diff_ci95_hi"]);
        old.AddRange(new[] { "t", "df", "p_value", "p_holm", "hedges_g", "diff_mean", "diff_ci95_lo", "diff_ci95_hi" }.Select(c => $"asam_vs_sgd_{c}"));
        old.AddRange(["notes", "mde_pp", "n_for_power80", "asam_vs_sgd_mde_pp", "asam_vs_sgd_n_for_power80", "cell"]);
        Assert.Equal([.. old, "time_ratio", "asam_vs_sgd_time_ratio"], header);
        var csv = CsvTable.Parse("report.csv", text);
        Assert.Equal(1.79, double.Parse(csv.Rows[0].Text("time_ratio"), CultureInfo.InvariantCulture), 12);
        Assert.Equal(1.5, double.Parse(csv.Rows[0].Text("asam_vs_sgd_time_ratio"), CultureInfo.InvariantCulture), 12);
    }

    [Fact]
    public void Markdown_says_each_gain_with_its_price_in_one_sentence()
    {
        var report = Build(Rows());
        var sam = report.Groups[0].ComparisonOf("sam")!.Result;
        string F(double x) => x.ToString("0.00", CultureInfo.InvariantCulture);
        var md = MarkdownReport.Write(report);
        Assert.Contains("## Gain and price", md);
        Assert.Contains($"- d/m, SAM: +{F(sam.MeanDifference!.Value)} pp [{F(sam.CiLow!.Value)}, {F(sam.CiHigh!.Value)}] for 1.79× SGD's time.", md);
        var asam = report.Groups[0].ComparisonOf("asam")!.Result;
        Assert.Contains($"- d/m, ASAM: {F(asam.MeanDifference!.Value)} pp [{F(asam.CiLow!.Value)}, {F(asam.CiHigh!.Value)}] for 1.50× SGD's time.", md);
        Assert.StartsWith("-", F(asam.MeanDifference!.Value));                   // ASAM is below SGD here: its sign is its own
        // The test-details table carries the ratio as its last column.
        Assert.Contains(md.Split('\n'), l => l.StartsWith("| d | m | SAM vs SGD |") && l.EndsWith("| 1.79 |"));
    }

    [Fact]
    public void The_ratio_is_null_without_completed_trials_in_an_arm_or_when_the_control_took_no_time()
    {
        List<TrialResultRow> rows =
        [
            // m1: every SAM trial failed. m2: no SGD trial at all. m3: SGD's trials took 0 s.
            Trial("sgd", 0, 90, 100, model: "m1"), Trial("sgd", 1, 91, 100, model: "m1"), Trial("sam", 0, 0, 3, completed: false, model: "m1"),
            Trial("sam", 0, 90, 100, model: "m2"), Trial("sam", 1, 91, 100, model: "m2"),
            Trial("sgd", 0, 90, 0, model: "m3"), Trial("sgd", 1, 91, 0, model: "m3"), Trial("sam", 0, 92, 50, model: "m3"), Trial("sam", 1, 93, 50, model: "m3"),
        ];
        var report = Build(rows);
        Assert.All(report.Groups, g => Assert.Null(g.ComparisonOf("sam")!.TimeRatio));

        using var json = JsonDocument.Parse(JsonReport.Write(report));
        foreach (var row in json.RootElement.EnumerateArray())
        {
            Assert.Equal(JsonValueKind.Null, row.GetProperty("time_ratio").ValueKind);
            Assert.Equal(JsonValueKind.Null, row.GetProperty("comparisons")[0].GetProperty("time_ratio").ValueKind);
        }
        var csv = CsvTable.Parse("report.csv", CsvReport.Write(report));
        Assert.All(csv.Rows, r => Assert.Equal("", r.Text("time_ratio")));

        var md = MarkdownReport.Write(report);
        Assert.Contains("- d/m1, SAM: no accuracy difference; no time ratio (no completed SAM trials).", md);
        Assert.Contains("- d/m2, SAM: no accuracy difference; no time ratio (no completed SGD trials).", md);
        Assert.Contains("- d/m3, SAM: +2.00 pp [", md);
        Assert.Contains("; no time ratio (SGD's mean time is 0 s).", md);
    }

    [Fact]
    public void Times_from_different_node_device_sets_get_one_note_per_comparison()
    {
        List<TrialResultRow> Where(string samNode, string samDevice) =>
        [
            Trial("sgd", 0, 90, 100, node: "node-1", device: "cpu"), Trial("sgd", 1, 91, 100, node: "node-2", device: "cpu"),
            Trial("sam", 0, 92, 180, node: samNode, device: samDevice), Trial("sam", 1, 93, 180, node: "node-2", device: "cpu"),
            Trial("asam", 0, 92, 180, node: "node-2", device: "cpu"), Trial("asam", 1, 93, 180, node: "node-1", device: "cpu"),
        ];
        var group = Build(Where("node-1", "cuda:0")).Groups[0];
        var note = Assert.Single(group.Notes, n => n.Contains("time ratio not controlled"));
        Assert.Equal("sam vs sgd: time ratio not controlled: sam ran on node-1/cuda:0, node-2/cpu, sgd on node-1/cpu, node-2/cpu", note);
        Assert.Contains(note, MarkdownReport.Write(Build(Where("node-1", "cuda:0"))));

        // The same sets (in any order of trials): nothing to say; ASAM's set equals SGD's above too.
        Assert.DoesNotContain(Build(Where("node-1", "cpu")).Groups[0].Notes, n => n.Contains("not controlled"));
    }

    [Fact]
    public void Without_node_and_device_nothing_is_said_about_where_times_were_measured()
    {
        // A trials.csv made by hand, without node and device columns: the rows say nothing about where they ran.
        const string bare = "dataset,model,optimizer,repeat,train_acc,test_acc,seconds\nd,m,sgd,0,99,90,100\nd,m,sgd,1,99,91,100\n" +
                            "d,m,sam,0,99,92,180\nd,m,sam,1,99,93,178\n";
        var rows = ResultsCsv.ParseTrials(CsvTable.Parse("trials.csv", bare));
        Assert.All(rows, r => Assert.Null(r.Node));
        var group = Build(rows).Groups[0];
        Assert.Equal(1.79, group.ComparisonOf("sam")!.TimeRatio!.Value, 12);
        Assert.DoesNotContain(group.Notes, n => n.Contains("not controlled"));

        // One trial without a node is as good as none: the sets cannot be compared.
        List<TrialResultRow> partial =
        [
            Trial("sgd", 0, 90, 100, node: "node-1", device: "cpu"), Trial("sgd", 1, 91, 100),
            Trial("sam", 0, 92, 180, node: "node-2", device: "cpu"), Trial("sam", 1, 93, 180, node: "node-2", device: "cpu"),
        ];
        Assert.DoesNotContain(Build(partial).Groups[0].Notes, n => n.Contains("not controlled"));
    }

    [Fact]
    public void Node_and_device_are_read_back_from_trials_csv_where_present()
    {
        const string written = "dataset,model,optimizer,repeat,seed,status,epochs,train_acc,test_acc,train_loss,test_loss,seconds,node,device,attempts,reason,cell\n" +
                               "d,m,sgd,0,1,completed,3,99,90,0.1,0.2,100,node-1,cpu,1,,\n" +
                               "d,m,sgd,1,2,completed,3,99,91,0.1,0.2,100,node-1,cpu,1,,\n" +
                               "d,m,sam,0,1,completed,3,99,92,0.1,0.2,180,node-2,cuda:0,1,,\n" +
                               "d,m,sam,1,2,completed,3,99,93,0.1,0.2,180,,,1,,\n";
        var rows = ResultsCsv.ParseTrials(CsvTable.Parse("trials.csv", written));
        Assert.Equal([("node-1", "cpu"), ("node-1", "cpu"), ("node-2", "cuda:0"), (null, null)], rows.Select(r => (r.Node, r.Device)));

        var all = rows.Take(3).Append(rows[3] with { Node = "node-2", Device = "cuda:0" }).ToList();
        Assert.Contains(Build(all).Groups[0].Notes, n => n == "sam vs sgd: time ratio not controlled: sam ran on node-2/cuda:0, sgd on node-1/cpu");
    }
}
