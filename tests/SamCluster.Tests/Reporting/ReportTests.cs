using System.Globalization;
using System.Text;
using System.Text.Json;
using SamCluster.Reporting;
using Xunit;

namespace SamCluster.Tests.Reporting;

public class ReportTests
{
    static TrialResultRow Trial(string dataset, string model, string optimizer, int repeat, double test, bool completed = true,
        double train = 99.5, double seconds = 100) =>
        new(dataset, model, optimizer, repeat, completed, completed ? train : null, completed ? test : null,
            completed ? seconds : null, 3, completed ? null : "out of memory", 0);

    static List<TrialResultRow> Arm(string dataset, string model, string optimizer, params double[] tests) =>
        tests.Select((t, i) => Trial(dataset, model, optimizer, i, t)).ToList();

    [Fact]
    public void Failed_trials_are_excluded_counted_and_listed()
    {
        var rows = Arm("d", "m", "sgd", 77.2, 76.8, 77.5, 76.6, 77.3)
            .Concat(Arm("d", "m", "sam", 78.1, 77.5, 79.0, 78.6))
            .Append(Trial("d", "m", "sam", 4, 0, completed: false)).ToList();
        var report = ReportBuilder.Build(rows, new ReportOptions());
        var group = Assert.Single(report.Groups);
        Assert.Equal((4, 1), (group.Arm("sam")!.N, group.Arm("sam")!.Failed));
        Assert.Single(group.FailedTrials);
        Assert.Contains("sam: 1 failed trial(s) excluded; 4 completed", group.Notes);
        var expected = TwoSampleTests.Welch(SampleSummary.Of([78.1, 77.5, 79.0, 78.6]), SampleSummary.Of([77.2, 76.8, 77.5, 76.6, 77.3]),
            Alternative.Greater);
        Assert.Equal(expected.PValue, group.ComparisonOf("sam")!.Result.PValue);
        var md = MarkdownReport.Write(report);
        Assert.Contains("## Failed trials (1, excluded from every figure above)", md);
        Assert.Contains("| d | m | sam | 4 | out of memory |", md);
    }

    [Fact]
    public void Optimizers_are_named_by_their_vocabulary_titles()
    {
        var rows = Arm("d", "m", "sgd", 77.2, 76.8, 77.5).Concat(Arm("d", "m", "msam", 78.1, 77.5, 79.0))
            .Concat(Arm("d", "m", "looksam", 78.0, 77.9, 78.4)).Concat(Arm("d", "m", "adamw", 76.0, 77.0, 76.5)).ToList();
        var md = MarkdownReport.Write(ReportBuilder.Build(rows, new ReportOptions()));
        Assert.Contains("| d | m | Momentum-SAM vs SGD |", md);
        Assert.Contains("| d | m | LookSAM vs SGD |", md);
        Assert.Contains("| d | m | ADAMW vs SGD |", md);   // not in the vocabulary (a bare trials.csv): its name in capitals
    }

    [Fact]
    public void A_retried_trial_counts_by_its_last_row()
    {
        var rows = Arm("d", "m", "sgd", 1, 2, 3).Concat(Arm("d", "m", "sam", 2, 3, 4)).ToList();
        rows.Insert(0, Trial("d", "m", "sam", 1, 0, completed: false));   // failed first, then completed
        var report = ReportBuilder.Build(rows, new ReportOptions());
        Assert.Equal((3, 0), (report.Groups[0].Arm("sam")!.N, report.Groups[0].Arm("sam")!.Failed));
        Assert.Contains(report.Notes, n => n.Contains("superseded"));
    }

    [Fact]
    public void A_missing_arm_and_a_one_trial_arm_give_no_test_and_say_why()
    {
        var rows = Arm("d", "m1", "sgd", 77.2, 76.8, 77.5)                  // no sam at all
            .Concat(Arm("d", "m2", "sgd", 77.2, 76.8, 77.5)).Concat(Arm("d", "m2", "sam", 80))
            .Concat(Arm("d", "m3", "sgd", 77.2, 76.8, 77.5)).Concat(Arm("d", "m3", "sam", 78.1, 77.5, 79.0)).ToList();
        var report = ReportBuilder.Build(rows, new ReportOptions());
        var (m1, m2, m3) = (report.Groups[0], report.Groups[1], report.Groups[2]);
        Assert.Null(m1.ComparisonOf("sam")!.Result.PValue);
        Assert.Contains("sam: no trials at all (arm missing)", m1.Notes);
        Assert.Contains("sam vs sgd: no test: no completed sam trials", m1.Notes);
        Assert.Null(m2.ComparisonOf("sam")!.Result.PValue);
        Assert.Contains(m2.Notes, n => n.Contains("n = 1 vs 3"));
        // Holm counts only the comparison that has a p-value: m = 1, so p_holm = p.
        Assert.Equal(m3.ComparisonOf("sam")!.Result.PValue, m3.ComparisonOf("sam")!.PHolm);
        Assert.Null(m1.ComparisonOf("sam")!.PHolm);

        using var json = JsonDocument.Parse(JsonReport.Write(report));
        var first = json.RootElement[0];
        Assert.Equal(0, first.GetProperty("sam").GetProperty("n").GetInt32());
        Assert.Equal(JsonValueKind.Null, first.GetProperty("sam").GetProperty("test_mean").ValueKind);
        Assert.Equal(JsonValueKind.Null, first.GetProperty("p_value").ValueKind);
        Assert.Equal(JsonValueKind.Null, first.GetProperty("diff_ci95").ValueKind);
        Assert.Contains("no completed sam trials", first.GetProperty("notes").EnumerateArray().Select(n => n.GetString()).First(n => n!.Contains("no test")));
        var second = json.RootElement[1];
        Assert.Equal(JsonValueKind.Null, second.GetProperty("sam").GetProperty("test_std").ValueKind);   // n = 1: no std
        var m2Row = MarkdownReport.Write(report).Split('\n').First(l => l.StartsWith("| d | m2 |"));
        Assert.Equal("| d | m2 | 3 | 99.500 ± 0.000 | 77.167 ± 0.351 | 100 | 99.500 (n = 1) | 80.000 (n = 1) | 100 | – |", m2Row);
    }

    [Fact]
    public void Constant_arms_give_null_statistics_in_json_and_a_plain_note()
    {
        var rows = Arm("d", "m", "sgd", 100, 100, 100).Concat(Arm("d", "m", "sam", 100, 100, 100)).ToList();
        var report = ReportBuilder.Build(rows, new ReportOptions());
        using var json = JsonDocument.Parse(JsonReport.Write(report));
        var group = json.RootElement[0];
        foreach (var key in new[] { "t", "df", "p_value", "p_holm", "hedges_g", "diff_ci95" })
            Assert.Equal(JsonValueKind.Null, group.GetProperty(key).ValueKind);
        Assert.Contains("both arms have zero variance and the same value 100", group.GetProperty("notes")[0].GetString());
    }

    [Fact]
    public void Paired_test_uses_only_repeats_present_in_both_arms()
    {
        var rows = new List<TrialResultRow>
        {
            Trial("d", "m", "sgd", 0, 77.2), Trial("d", "m", "sgd", 1, 76.8), Trial("d", "m", "sgd", 2, 77.5), Trial("d", "m", "sgd", 3, 76.6),
            Trial("d", "m", "sam", 0, 78.1), Trial("d", "m", "sam", 1, 77.5), Trial("d", "m", "sam", 3, 78.6), Trial("d", "m", "sam", 7, 90),
        };
        var result = ReportBuilder.Build(rows, new ReportOptions(Test: TestKind.Paired)).Groups[0].ComparisonOf("sam")!.Result;
        var expected = TwoSampleTests.Paired([(78.1, 77.2), (77.5, 76.8), (78.6, 76.6)], Alternative.Greater);
        Assert.Equal(3, result.Pairs);
        Assert.Equal(expected.Statistic, result.Statistic);
        Assert.Equal(expected.PValue, result.PValue);
    }

    [Fact]
    public void Other_optimizers_are_each_compared_with_sgd_and_Holm_spans_the_report()
    {
        var rows = Arm("a", "m", "sgd", 77.2, 76.8, 77.5, 76.6).Concat(Arm("a", "m", "sam", 78.1, 77.5, 79.0, 78.6))
            .Concat(Arm("a", "m", "asam", 77.9, 77.1, 78.2, 77.0))
            .Concat(Arm("b", "m", "sgd", 99.1, 99.3, 99.2)).Concat(Arm("b", "m", "sam", 99.2, 99.4, 99.25))
            .Concat(Arm("b", "m", "asam", 99.0, 99.3, 99.1)).ToList();
        var report = ReportBuilder.Build(rows, new ReportOptions(Alternative: Alternative.TwoSided));
        Assert.Equal(["sgd", "sam", "asam"], report.Optimizers);
        var comparisons = report.Groups.SelectMany(g => g.Comparisons).ToList();
        Assert.Equal(4, comparisons.Count);
        var holm = Holm.Adjust(comparisons.Select(c => c.Result.PValue).ToList());
        Assert.Equal(holm, comparisons.Select(c => c.PHolm).ToArray());

        var csv = CsvTable.Parse("report.csv", CsvReport.Write(report));
        Assert.Equal(2, csv.Rows.Count);
        Assert.Equal(comparisons[0].Result.PValue!.Value,
            double.Parse(csv.Rows[0].Text("p_value"), CultureInfo.InvariantCulture));   // unprefixed = sam vs sgd
        Assert.Equal(comparisons[1].Result.PValue!.Value,
            double.Parse(csv.Rows[0].Text("asam_vs_sgd_p_value"), CultureInfo.InvariantCulture));
        Assert.Equal("4", csv.Rows[0].Text("asam_n"));

        var md = MarkdownReport.Write(report);
        Assert.Contains("| p (SAM vs SGD) | p (ASAM vs SGD) |", md);
        using var json = JsonDocument.Parse(JsonReport.Write(report));
        Assert.Equal(2, json.RootElement[0].GetProperty("comparisons").GetArrayLength());
        Assert.Equal("two-sided", json.RootElement[0].GetProperty("alternative").GetString());
    }

    [Fact]
    public void Report_json_has_the_agreed_shape()
    {
        var rows = Arm("fashion-mnist", "resnet18", "sgd", 99.3, 99.4, 99.5).Concat(Arm("fashion-mnist", "resnet18", "sam", 99.4, 99.5, 99.55)).ToList();
        using var json = JsonDocument.Parse(JsonReport.Write(ReportBuilder.Build(rows, new ReportOptions())));
        var g = Assert.Single(json.RootElement.EnumerateArray());
        foreach (var key in new[] { "dataset", "model", "sgd", "sam", "t", "df", "p_value", "alternative", "p_holm", "hedges_g", "diff_ci95" })
            Assert.True(g.TryGetProperty(key, out _), key);
        foreach (var key in new[] { "n", "train_mean", "train_std", "test_mean", "test_std", "seconds_mean" })
            Assert.True(g.GetProperty("sam").TryGetProperty(key, out _), key);
        Assert.Equal(2, g.GetProperty("diff_ci95").GetArrayLength());
        Assert.Equal("greater", g.GetProperty("alternative").GetString());
    }

    [Fact]
    public void WriteAll_writes_the_reports_and_pictures_into_the_run_folder()
    {
        var dir = Directory.CreateTempSubdirectory("samcluster-report-").FullName;
        try
        {
            var trials = new StringBuilder("dataset,model,optimizer,repeat,status,train_acc,test_acc,seconds,reason\n");
            var epochs = new StringBuilder("dataset,model,optimizer,repeat,epoch,train_loss,train_acc,test_loss,test_acc,lr,seconds,images_per_second\n");
            foreach (var (opt, shift) in new[] { ("sgd", 0.0), ("sam", 1.0) })
                for (var r = 0; r < 3; r++)
                {
                    for (var e = 1; e <= 3; e++)
                        epochs.Append(CultureInfo.InvariantCulture, $"d,m,{opt},{r},{e},1,{60 + 10 * e + r},1,{50 + 8 * e + shift + r},0.001,1,100\n");
                    trials.Append(CultureInfo.InvariantCulture, $"d,m,{opt},{r},completed,{90 + r},{74 + shift + r},{10 + r},\n");
                }
            trials.Append("d,m,sam,3,failed,,,,\"disk full, node 2\"\n");
            File.WriteAllText(Path.Combine(dir, "trials.csv"), trials.ToString());
            File.WriteAllText(Path.Combine(dir, "epochs.csv"), epochs.ToString());

            var report = RunReport.WriteAll(dir, new ReportOptions());

            Assert.Single(report.Groups[0].FailedTrials);
            foreach (var file in new[] { "report.md", "report.csv", "report.json", "curves/d_m.png", "curves/test_accuracy.png" })
                Assert.True(File.Exists(Path.Combine(dir, file)), file);
            foreach (var png in new[] { "curves/d_m.png", "curves/test_accuracy.png" })
                Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(Path.Combine(dir, png)).Take(4).ToArray());
            Assert.Empty(Directory.EnumerateFiles(dir, "*.tmp", SearchOption.AllDirectories));
            Assert.Contains("disk full, node 2", File.ReadAllText(Path.Combine(dir, "report.md")));
            // Four panels (accuracy ×2, loss, learning rate): 1200 × 1000 pixels; and nothing said about pictures not drawn.
            var header = File.ReadAllBytes(Path.Combine(dir, "curves/d_m.png")).AsSpan(16, 8);
            Assert.Equal((1200, 1000), (System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(header),
                System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(header[4..])));
            Assert.DoesNotContain(report.Notes, n => n.Contains("pictures not drawn"));
            var curve = LearningCurve.From(ResultsCsv.ReadEpochs(Path.Combine(dir, "epochs.csv")), ResultsCsv.ReadTrials(Path.Combine(dir, "trials.csv")))
                .Single(c => c.Optimizer == "sgd");
            Assert.Equal((1.0, 1.0, 0.001), (curve.Points[0].TrainLoss, curve.Points[0].TestLoss, curve.Points[0].LearningRate));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Learning_curves_average_completed_repeats_per_epoch()
    {
        EpochResultRow E(string opt, int repeat, int epoch, double test) => new("d", "m", opt, repeat, epoch, 90, test, null, null, 0);
        var curves = LearningCurve.From(
            [E("sgd", 0, 1, 50), E("sgd", 1, 1, 60), E("sgd", 2, 1, 0), E("sgd", 0, 2, 70)],
            [Trial("d", "m", "sgd", 0, 70), Trial("d", "m", "sgd", 1, 60), Trial("d", "m", "sgd", 2, 0, completed: false)]);
        var curve = Assert.Single(curves);
        Assert.Equal(2, curve.Repeats);                           // the failed repeat 2 is left out
        Assert.Equal((2, 55.0), (curve.Points[0].N, curve.Points[0].TestMean));
        Assert.Equal(Math.Sqrt(50), curve.Points[0].TestSd!.Value, 12);
        Assert.Null(curve.Points[1].TestSd);                      // one repeat at epoch 2: no band
    }

    [Fact]
    public void Report_command_exits_2_on_bad_input()
    {
        Assert.Equal(2, SamCluster.Cli.Program.Main(["report", "/nonexistent/run"]));
        Assert.Equal(2, SamCluster.Cli.Program.Main(["report", "/tmp", "--test", "bogus"]));
    }

    [Fact]
    public void A_grid_with_axes_has_one_comparison_per_cell_each_against_the_sgd_trials_of_the_shared_values()
    {
        static IEnumerable<TrialResultRow> Cell(string optimizer, string cell, params double[] tests) =>
            tests.Select((t, i) => Trial("d", "m", optimizer, i + 1, t) with { Cell = cell });
        var rows = Cell("sgd", "lr=0.01", 90, 91, 92).Concat(Cell("sgd", "lr=0.1", 80, 81, 82))
            .Concat(Cell("sam", "lr=0.01,rho=0.05", 93, 94, 95)).Concat(Cell("sam", "lr=0.01,rho=0.1", 91, 92, 93))
            .Concat(Cell("sam", "lr=0.1,rho=0.05", 83, 84, 85)).Concat(Cell("sam", "lr=0.1,rho=0.1", 81, 82, 83)).ToList();
        var report = ReportBuilder.Build(rows, new ReportOptions());

        Assert.Equal(["lr=0.01,rho=0.05", "lr=0.01,rho=0.1", "lr=0.1,rho=0.05", "lr=0.1,rho=0.1"], report.Groups.Select(g => g.Cell));
        var group = report.Groups.Single(g => g.Cell == "lr=0.1,rho=0.05");
        Assert.Equal(81, group.Arm("sgd")!.Test!.Mean, 9);   // the lr=0.1 SGD trials, whatever rho
        Assert.Equal(84, group.Arm("sam")!.Test!.Mean, 9);
        Assert.Equal(3, group.ComparisonOf("sam")!.Result.MeanDifference!.Value, 9);
        Assert.Equal(4, report.ComparisonCount);   // Holm over all four

        using var json = JsonDocument.Parse(JsonReport.Write(report));
        var first = json.RootElement[0];
        Assert.Equal("lr=0.01,rho=0.05", first.GetProperty("cell").GetString());
        var recipe = first.GetProperty("comparisons")[0].GetProperty("recipe");
        Assert.Equal((0.01, 0.05), (recipe.GetProperty("lr").GetDouble(), recipe.GetProperty("rho").GetDouble()));
        Assert.Contains("| d | m | lr=0.1,rho=0.1 | SAM vs SGD |", MarkdownReport.Write(report));
        // "cell" is no longer the last column (time_ratio follows it): find it by name.
        Assert.Equal("lr=0.1,rho=0.1", CsvTable.Parse("report.csv", CsvReport.Write(report)).Rows[^1].Text("cell"));
    }

    [Fact]
    public void Without_axes_the_report_has_no_recipe_column_and_empty_recipe_objects()
    {
        var report = ReportBuilder.Build(Arm("d", "m", "sgd", 77.2, 76.8).Concat(Arm("d", "m", "sam", 78.1, 77.5)).ToList(), new ReportOptions());
        Assert.DoesNotContain("Recipe", MarkdownReport.Write(report));
        using var json = JsonDocument.Parse(JsonReport.Write(report));
        Assert.Equal(JsonValueKind.Null, json.RootElement[0].GetProperty("cell").ValueKind);
        Assert.Empty(json.RootElement[0].GetProperty("comparisons")[0].GetProperty("recipe").EnumerateObject());
    }

    [Theory]
    [InlineData("fashion-mnist", "resnet18", "Fashion-MNIST · ResNet-18")]
    [InlineData("stanford-dogs", "resnet34", "Stanford Dogs · ResNet-34")]
    [InlineData("d", "m", "d · m")]
    public void Chart_titles_use_the_vocabulary(string dataset, string model, string title) =>
        Assert.Equal(title, Charts.Title(dataset, model));
}
