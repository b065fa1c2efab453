using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using SamCluster.Experiment;
using SamCluster.Experiment.Grid;
using SamCluster.Messages;
using SamCluster.Reporting;
using SamCluster.Reporting.Sequential;

namespace SamCluster.Cli.Commands;

/// <summary>
/// `samcluster design`: prints a group-sequential design without running anything — from flags
/// (`--looks 5,10,20,30 --alpha 0.05 --spending obrien-fleming [--margin-pp M] [--test welch|paired]`) or from a grid
/// file's `sequential` key — and, with `--simulate N`, N studies simulated under exactly the rule a run follows.
/// </summary>
public static class DesignCommand
{
    /// <summary>Enough for a figure to its third decimal; more is a typo that would run for hours.</summary>
    const int MaxSimulations = 10_000_000;

    public static Command Create()
    {
        var grid = new Argument<string?>("grid") { Description = "A grid file whose 'sequential' key to print (instead of the flags).", Arity = ArgumentArity.ZeroOrOne };
        var looks = new Option<string?>("--looks") { Description = "Repeats per arm at each look, increasing, each at least 2: 5,10,20,30." };
        var alpha = new Option<double?>("--alpha") { Description = "One-sided type-I error per comparison, in (0, 0.5) (default 0.05)." };
        var spending = new Option<string?>("--spending") { Description = "Alpha spending: obrien-fleming (default) or pocock." };
        var margin = new Option<double?>("--margin-pp") { Description = "Futility margin in percentage points (non-binding; default none)." };
        var test = new Option<string?>("--test") { Description = "Test at each look: welch (default) or paired." };
        var simulate = new Option<int?>("--simulate") { Description = "Also simulate this many studies under the design's rule." };
        var effect = new Option<double>("--effect-pp") { Description = "Simulated true gain of SAM in percentage points.", DefaultValueFactory = _ => 0 };
        var sd = new Option<string>("--sd-pp") { Description = "Simulated sd of each arm's accuracy in percentage points: S, or SAM,CONTROL.", DefaultValueFactory = _ => "1" };
        var seed = new Option<int>("--seed") { Description = "Seed of the simulation.", DefaultValueFactory = _ => 1 };
        var format = new Option<string>("--format") { Description = "Output format: text or json.", DefaultValueFactory = _ => "text" };
        var command = new Command("design", "Print a group-sequential design (and simulate it) without running anything.")
        {
            grid, looks, alpha, spending, margin, test, simulate, effect, sd, seed, format,
        };
        command.SetAction(parse => Program.Run(() =>
        {
            var outputFormat = parse.GetValue(format)!;
            if (outputFormat is not ("text" or "json")) throw new UserInputException($"--format must be text or json, not '{outputFormat}'");
            var plan = parse.GetValue(grid) is { } file
                ? FromGrid(file, parse.GetResult(looks) is not null || parse.GetResult(alpha) is not null || parse.GetResult(spending) is not null
                                 || parse.GetResult(margin) is not null || parse.GetResult(test) is not null)
                : FromFlags(parse.GetValue(looks), parse.GetValue(alpha), parse.GetValue(spending), parse.GetValue(margin), parse.GetValue(test));
            var rule = SequentialRule.For(plan);
            SimulationResult? simulation = null;
            if (parse.GetValue(simulate) is { } studies)
            {
                if (studies < 1 || studies > MaxSimulations) throw new UserInputException($"--simulate must be between 1 and {MaxSimulations}, not {studies}");
                var effectPp = parse.GetValue(effect);
                if (!double.IsFinite(effectPp) || Math.Abs(effectPp) > 100) throw new UserInputException($"--effect-pp must be between -100 and 100, not {effectPp}");
                var sds = Sds(parse.GetValue(sd)!);
                simulation = SequentialSimulation.Run(rule, studies, effectPp, sds[0], parse.GetValue(seed), sds[^1]);
            }
            else if (parse.GetResult(effect) is { Implicit: false } || parse.GetResult(sd) is { Implicit: false })
                throw new UserInputException("--effect-pp and --sd-pp describe a simulation: add --simulate N");
            Console.Out.WriteLine(outputFormat == "json" ? Json(plan, rule.Design, simulation) : Text(plan, rule.Design, simulation));
            return Program.Ok;
        }));
        return command;
    }

    /// <summary>"S" (both arms) or "SAM,CONTROL", each above 0 and at most 100.</summary>
    static double[] Sds(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var values = new double[parts.Length];
        for (var i = 0; i < parts.Length; i++)
            if (parts.Length > 2 || !double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out values[i])
                || !double.IsFinite(values[i]) || values[i] <= 0 || values[i] > 100)
                throw new UserInputException($"--sd-pp must be one sd or two (SAM,CONTROL), each above 0 and at most 100, not '{text}'");
        return values;
    }

    static SequentialPlan FromGrid(string file, bool flagsToo)
    {
        if (flagsToo) throw new UserInputException("give a grid file or the design's flags (--looks, --alpha, ...), not both");
        return GridConfigLoader.Load(file).Sequential ?? throw new UserInputException($"{file} has no 'sequential' key: its repeats all run (a fixed design)");
    }

    static SequentialPlan FromFlags(string? looksText, double? alpha, string? spending, double? margin, string? test)
    {
        if (looksText is null) throw new UserInputException("--looks is required (repeats per arm at each look, e.g. --looks 5,10,20,30), or give a grid file");
        var looks = new List<int>();
        foreach (var item in looksText.Split(',', StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(item, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < SequentialPlan.MinLook || n > GridConfig.MaxRepeats)
                throw new UserInputException($"--looks: each look must be a whole number from {SequentialPlan.MinLook} to {GridConfig.MaxRepeats}, not '{item}'");
            if (looks.Count > 0 && n <= looks[^1]) throw new UserInputException($"--looks must increase: {n} comes after {looks[^1]}");
            looks.Add(n);
        }
        if (looks.Count > SequentialPlan.MaxLooks) throw new UserInputException($"--looks must have at most {SequentialPlan.MaxLooks} looks, not {looks.Count}");
        var a = alpha ?? 0.05;
        if (!(a > 0 && a < SequentialPlan.MaxAlpha))
            throw new UserInputException($"--alpha must be above 0 and below {SequentialPlan.MaxAlpha}, not {a.ToString(CultureInfo.InvariantCulture)}");
        var family = spending ?? SequentialPlan.OBrienFleming;
        if (!SequentialPlan.SpendingNames.Contains(family))
            throw new UserInputException($"--spending must be one of {string.Join(", ", SequentialPlan.SpendingNames)}, not '{family}'");
        if (margin is { } m && (!double.IsFinite(m) || Math.Abs(m) > SequentialPlan.MarginLimitPp))
            throw new UserInputException($"--margin-pp must be between -{SequentialPlan.MarginLimitPp} and {SequentialPlan.MarginLimitPp}, not {m}");
        var kind = test ?? SequentialPlan.Welch;
        if (!SequentialPlan.TestNames.Contains(kind)) throw new UserInputException($"--test must be one of {string.Join(", ", SequentialPlan.TestNames)}, not '{kind}'");
        return new SequentialPlan(looks, a, family, margin, kind);
    }

    static string Text(SequentialPlan plan, GroupSequentialDesign design, SimulationResult? simulation)
    {
        var inv = CultureInfo.InvariantCulture;
        var lines = new List<string> { design.Describe(), "" };
        lines.Add($"Rule at each look: {(plan.Test == SequentialPlan.Paired ? "paired t on the repeats' differences" : "Welch's t (Welch-Satterthwaite df)")}; " +
                  "efficacy when the one-sided p <= the look's nominal alpha" +
                  (plan.MarginPp is { } m ? $"; futility when the repeated upper bound of the gain < {m.ToString("0.###", inv)} pp (non-binding)" : "") + ".");
        if (simulation is { } s)
        {
            lines.Add("");
            var what = s.EffectPp == 0 ? "type-I error" : "power";
            var sds = s.SdPp == s.ControlSdPp ? $"sd {s.SdPp.ToString("0.###", inv)} pp per arm" : $"sd {s.SdPp.ToString("0.###", inv)} / {s.ControlSdPp.ToString("0.###", inv)} pp";
            lines.Add($"Simulated {s.Studies} studies (gain {s.EffectPp.ToString("0.###", inv)} pp, {sds}): " +
                      $"{what} {s.EfficacyRate.ToString("0.0000", inv)} (SE {s.StandardError.ToString("0.0000", inv)}); " +
                      $"expected repeats per arm {s.ExpectedRepeatsPerArm.ToString("0.00", inv)} of {design.Looks[^1]} " +
                      $"({(1 - s.ExpectedRepeatsPerArm / design.Looks[^1]).ToString("P0", inv)} saved against the fixed design)" +
                      (plan.MarginPp is not null ? $"; stopped for futility {s.FutilityRate.ToString("0.0000", inv)}" : ""));
            lines.Add($"Stopped at each look: {string.Join(", ", s.StoppedAtLook.Select((f, k) => $"{k + 1}: {f.ToString("0.0000", inv)}"))}");
        }
        return string.Join('\n', lines);
    }

    static string Json(SequentialPlan plan, GroupSequentialDesign design, SimulationResult? simulation)
    {
        var json = new JsonObject
        {
            ["looks"] = new JsonArray(design.Looks.Select(n => (JsonNode)n).ToArray()),
            ["alpha"] = design.Alpha,
            ["spending"] = design.SpendingName,
            ["test"] = plan.Test,
            ["margin_pp"] = plan.MarginPp,
            ["information_rates"] = new JsonArray(design.InformationRates.Select(v => (JsonNode)v).ToArray()),
            ["critical_z"] = new JsonArray(design.CriticalZ.Select(v => (JsonNode)v).ToArray()),
            ["nominal_alpha"] = new JsonArray(design.NominalAlpha.Select(v => (JsonNode)v).ToArray()),
            ["cumulative_alpha"] = new JsonArray(design.CumulativeAlpha.Select(v => (JsonNode)v).ToArray()),
        };
        if (simulation is { } s)
        {
            json["simulations"] = s.Studies;
            json["effect_pp"] = s.EffectPp;
            json["sd_pp"] = s.SdPp == s.ControlSdPp ? s.SdPp : new JsonArray(s.SdPp, s.ControlSdPp);
            json[s.EffectPp == 0 ? "type1_error" : "power"] = s.EfficacyRate;
            json["standard_error"] = s.StandardError;
            json[s.EffectPp == 0 ? "expected_repeats_h0" : "expected_repeats"] = s.ExpectedRepeatsPerArm;
            json["futility_rate"] = s.FutilityRate;
            json["stopped_at_look"] = new JsonArray(s.StoppedAtLook.Select(v => (JsonNode)v).ToArray());
        }
        return json.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }
}
